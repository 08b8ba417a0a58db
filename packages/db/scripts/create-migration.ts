// `pnpm db:migration NAME`: writes prisma/migrations/<timestamp>_<NAME>/migration.sql with the SQL
// that takes the current migrations to schema.prisma. Needs a PostgreSQL server to replay the
// migrations in a throwaway shadow database (DATABASE_URL, else the local test server).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { diffSchemaFrom, migrationsDir } from "../src/migrations.ts";
import { testAdminUrl } from "../src/testing.ts";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: pnpm db:migration NAME   (NAME: lowercase letters, digits and underscores)");
  process.exit(2);
}
const sql = await diffSchemaFrom(process.env.DATABASE_URL ?? testAdminUrl, "migrations");
if (sql.replace(/^--.*$/gm, "").trim() === "") {
  console.error("schema.prisma and prisma/migrations already agree; no migration written");
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
const dir = path.join(migrationsDir, `${stamp}_${name}`);
await mkdir(dir, { recursive: true });
await writeFile(path.join(dir, "migration.sql"), sql);
console.error(`wrote ${path.relative(process.cwd(), dir)}/migration.sql`);
