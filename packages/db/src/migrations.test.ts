import { describe, expect, it } from "vitest";
import { diffSchemaFrom } from "./migrations.ts";
import { createTestDatabase } from "./testing.ts";

describe("migrations", () => {
  it("match schema.prisma (run `pnpm db:migration NAME` after changing the schema)", async () => {
    const db = await createTestDatabase();
    try {
      // Replays prisma/migrations in a shadow database and diffs the result with schema.prisma.
      const drift = await diffSchemaFrom(db.url, "migrations");
      expect(drift.replace(/^--.*$/gm, "").trim()).toBe("");
    } finally {
      await db.drop();
    }
  });

  it("produce every table the schema declares in a migrated database", async () => {
    const db = await createTestDatabase();
    try {
      const { rows } = await db.pool.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
      );
      expect(rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining([
          "ApiKey",
          "Artifact",
          "Deployment",
          "DeploymentSchedule",
          "DeploymentVersion",
          "Flow",
          "FlowRun",
          "Log",
          "SigningKey",
          "State",
          "TaskRun",
          "Worker",
          "WorkPool",
          "WorkQueue",
          "Workspace",
          "_prisma_migrations",
        ]),
      );
    } finally {
      await db.drop();
    }
  });
});
