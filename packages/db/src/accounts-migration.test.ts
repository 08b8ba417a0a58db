// The accounts migration on a database from before accounts: its workspaces join organisation
// "default" and its API keys become keys of a service account with their scope unchanged, so every
// existing key keeps working.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { applyMigrations } from "./migrations.ts";
import { createDatabaseBefore } from "./testing.ts";

const ACCOUNTS_MIGRATION = "20261201020241_accounts";

describe("accounts migration", () => {
  it(
    "gives existing workspaces an organisation and existing keys a service account owner",
    { timeout: 60_000 },
    async () => {
      const before = await createDatabaseBefore(ACCOUNTS_MIGRATION, "upgrade_accounts");
      const url = before.url;
      const db = new pg.Client({ connectionString: url });
      try {
        await db.connect();
        for (const ws of ["one", "two"]) {
          await db.query(
            `WITH w AS (INSERT INTO "Workspace" (id, name) VALUES (gen_random_uuid(), $1) RETURNING id)
           INSERT INTO "ApiKey" (id, "workspaceId", name, prefix, "secretHash", scope)
           SELECT gen_random_uuid(), w.id, k.name, k.prefix, '00', k.scope::"ApiKeyScope" FROM w,
             (VALUES ('admin', $2, 'ADMIN'), ('worker', $3, 'WORKER')) AS k(name, prefix, scope)`,
            [ws, `${ws}admin`.padEnd(12, "0"), `${ws}worker`.padEnd(12, "0")],
          );
        }

        expect(await applyMigrations(url)).toContain(ACCOUNTS_MIGRATION);

        const { rows } = await db.query<{
          ws: string;
          org: string;
          key: string;
          scope: string;
          sa: string;
          role: string;
        }>(
          `SELECT w.name AS ws, o.name AS org, k.name AS key, k.scope, sa.name AS sa, sa.role
           FROM "ApiKey" k JOIN "Workspace" w ON w.id = k."workspaceId" JOIN "Organization" o ON o.id = w."organizationId"
           JOIN "ServiceAccount" sa ON sa.id = k."serviceAccountId" AND sa."workspaceId" = w.id
          WHERE k."userId" IS NULL ORDER BY 1, 3`,
        );
        expect(rows).toEqual([
          { ws: "one", org: "default", key: "admin", scope: "ADMIN", sa: "api-keys", role: "ADMIN" },
          { ws: "one", org: "default", key: "worker", scope: "WORKER", sa: "api-keys", role: "ADMIN" },
          { ws: "two", org: "default", key: "admin", scope: "ADMIN", sa: "api-keys", role: "ADMIN" },
          { ws: "two", org: "default", key: "worker", scope: "WORKER", sa: "api-keys", role: "ADMIN" },
        ]);
      } finally {
        await db.end().catch(() => {});
        await before.drop();
      }
    },
  );
});
