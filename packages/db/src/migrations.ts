// Applies prisma/migrations to a database and compares them with prisma/schema.prisma.
// Applied migrations are recorded in `_prisma_migrations`, the table `prisma migrate deploy`
// reads, so anyone with the official CLI can operate on the same folder.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MigrationDirectory, MigrationList, SchemaFilter } from "@prisma/schema-engine-wasm";
import { withSchemaEngine } from "./schema-engine.ts";

// From the sources, the repository's prisma/; from a build (this package's dist/ or the published
// server's), the copy the build puts beside the bundle (packages/db and apps/server tsdown.config.ts).
const prismaDir = import.meta.url.endsWith(".ts")
  ? fileURLToPath(new URL("../../../prisma", import.meta.url))
  : fileURLToPath(new URL("./prisma", import.meta.url));
export const schemaPath = path.join(prismaDir, "schema.prisma");
export const migrationsDir = path.join(prismaDir, "migrations");
const noFilters: SchemaFilter = { externalTables: [], externalEnums: [] };

export async function readMigrationList(): Promise<MigrationList> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories: MigrationDirectory[] = await Promise.all(
    dirs.map(async (dir) => ({
      path: dir,
      migrationFile: {
        path: "migration.sql",
        content: { tag: "ok" as const, value: await readFile(path.join(migrationsDir, dir, "migration.sql"), "utf8") },
      },
    })),
  );
  const lockPath = path.join(migrationsDir, "migration_lock.toml");
  const lockContent = await readFile(lockPath, "utf8").catch(() => null);
  return {
    baseDir: migrationsDir,
    lockfile: { path: "migration_lock.toml", content: lockContent },
    shadowDbInitScript: "",
    migrationDirectories,
  };
}

/** Applies pending migrations; returns the names it applied. Safe to call on every start. */
export async function applyMigrations(connectionString: string): Promise<string[]> {
  const schemaText = await readFile(schemaPath, "utf8");
  const migrationsList = await readMigrationList();
  return withSchemaEngine(connectionString, schemaPath, schemaText, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList, filters: noFilters });
    return out.appliedMigrationNames;
  });
}

/**
 * SQL that takes a database from `from` to the current schema.prisma: from nothing (a new
 * database) or from the state the migrations folder produces. The latter replays the migrations in
 * a throwaway shadow database the pg adapter creates beside `connectionString`'s.
 */
export async function diffSchemaFrom(connectionString: string, from: "empty" | "migrations"): Promise<string> {
  const schemaText = await readFile(schemaPath, "utf8");
  const fromTarget =
    from === "empty" ? ({ tag: "empty" } as const) : ({ tag: "migrations", ...(await readMigrationList()) } as const);
  return withSchemaEngine(connectionString, schemaPath, schemaText, async (engine) => {
    const result = await engine.diff({
      from: fromTarget,
      to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schemaText }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return result.stdout ?? "";
  });
}
