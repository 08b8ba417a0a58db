// vitest globalSetup: build the migrated template database once for the whole run.
import { dropStaleTestDatabases, ensureTemplateDatabase } from "./testing.ts";

export default async function setup(): Promise<void> {
  await ensureTemplateDatabase();
  await dropStaleTestDatabases();
}
