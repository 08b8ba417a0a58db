// Test databases: each test file gets its own database cloned from a migrated template, so test
// files run in parallel against real PostgreSQL without seeing each other's rows.
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import pg from "pg";
import { applyMigrations, readMigrationList, schemaPath } from "./migrations.ts";
import { withSchemaEngine } from "./schema-engine.ts";
import { connectDatabase, type Database } from "./client.ts";

/** Admin connection for tests; CI's node-svc machines serve PostgreSQL here with trust auth. */
export const testAdminUrl = process.env.FLOWPLANE_TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const TEST_DB_PREFIX = "flowplane_test_";

export function databaseUrl(base: string, database: string): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs `work` on a connection of its own to `connectionString`, closed after. */
export async function withClient<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs `work` on a connection to the admin database (creating, cloning and dropping databases). */
export const withAdminClient = <T>(work: (client: pg.Client) => Promise<T>): Promise<T> =>
  withClient(testAdminUrl, work);

/** The template's name changes whenever the migrations change, so a stale template is never used. */
export async function templateName(): Promise<string> {
  const list = await readMigrationList();
  const hash = createHash("sha256");
  for (const dir of list.migrationDirectories) {
    hash.update(dir.path);
    if (dir.migrationFile.content.tag === "ok") hash.update(dir.migrationFile.content.value);
  }
  return `flowplane_template_${hash.digest("hex").slice(0, 12)}`;
}

/** Creates the migrated template once per migrations version. Called from vitest's globalSetup. */
export async function ensureTemplateDatabase(): Promise<string> {
  const name = await templateName();
  const exists = await withAdminClient(
    async (c) => (await c.query("select 1 from pg_database where datname = $1", [name])).rowCount === 1,
  );
  if (exists) return name;
  const building = `${name}_build_${randomBytes(3).toString("hex")}`;
  await withAdminClient((c) => c.query(`CREATE DATABASE "${building}"`));
  await applyMigrations(databaseUrl(testAdminUrl, building));
  await withAdminClient(async (c) => {
    // Renamed only when complete, so a crash mid-build leaves no half-migrated template.
    try {
      await c.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
    } catch (err) {
      // Another process finished first.
      await c.query(`DROP DATABASE IF EXISTS "${building}"`);
      if (!String(err).includes("already exists")) throw err;
    }
  });
  return name;
}

export interface TestDatabase extends Database {
  name: string;
  drop(): Promise<void>;
}

/** A fresh migrated database for one test file. */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const template = await templateName();
  const name = `${TEST_DB_PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await withAdminClient((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
      break;
    } catch (err) {
      // Cloning fails while another session briefly holds the template; try again.
      if (attempt >= 20 || !String(err).includes("being accessed by other users")) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  const url = databaseUrl(testAdminUrl, name);
  const db = connectDatabase(url, { poolSize: options.poolSize ?? 10 });
  return {
    ...db,
    name,
    async close() {
      await db.close();
    },
    async drop() {
      await db.close().catch(() => {});
      await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/**
 * A database with the migrations before `migration` applied (an installation from before it), for
 * testing that migration on existing rows. Named like createTestDatabase's, so a crashed run's
 * leftover is dropped as stale. `drop()` removes it.
 */
export async function createDatabaseBefore(
  migration: string,
  label: string,
  settings = "",
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${TEST_DB_PREFIX}${Date.now().toString(36)}_${label}`;
  await withAdminClient(async (c) => {
    await c.query(`CREATE DATABASE "${name}"`);
    if (settings) await c.query(`ALTER DATABASE "${name}" ${settings}`);
  });
  const url = databaseUrl(testAdminUrl, name);
  const drop = () =>
    withAdminClient(async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
  try {
    const list = await readMigrationList();
    if (!list.migrationDirectories.some((d) => d.path === migration)) throw new Error(`no migration ${migration}`);
    const before = { ...list, migrationDirectories: list.migrationDirectories.filter((d) => d.path < migration) };
    await withSchemaEngine(url, schemaPath, await readFile(schemaPath, "utf8"), (engine) =>
      engine.applyMigrations({ migrationsList: before, filters: { externalTables: [], externalEnums: [] } }),
    );
  } catch (err) {
    await drop();
    throw err;
  }
  return { url, drop };
}

/** Drops test databases left by earlier runs (older than an hour). */
export async function dropStaleTestDatabases(): Promise<void> {
  await withAdminClient(async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      "select datname from pg_database where starts_with(datname, $1)",
      [TEST_DB_PREFIX],
    );
    const cutoff = Date.now() - 3_600_000;
    for (const { datname } of rows) {
      const created = parseInt(datname.slice(TEST_DB_PREFIX.length).split("_")[0] ?? "", 36);
      if (Number.isFinite(created) && created < cutoff)
        await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  });
}

export async function readSchemaFile(): Promise<string> {
  return readFile(schemaPath, "utf8");
}
