/**
 * @flowplane/db — the data layer: the generated Prisma client, a shared pg pool, migrations
 * through the WASM schema engine, and the embedded PostgreSQL.
 *
 * ```ts
 * const db = connectDatabase(process.env.DATABASE_URL!);
 * await applyMigrations(db.url);
 * const pools = await db.prisma.workPool.findMany({ where: { workspaceId } });
 * ```
 */
export { connectDatabase, checkDatabaseReachable, DatabaseUnreachableError, redactUrl } from "./client.ts";
export type { Database, DatabaseOptions, Db } from "./client.ts";
export { applyMigrations, diffSchemaFrom, readMigrationList, migrationsDir, schemaPath } from "./migrations.ts";
export { startEmbeddedPostgres, writeFileAtomic } from "./embedded.ts";
export type { EmbeddedPostgresHandle } from "./embedded.ts";
export { Prisma, PrismaClient } from "./generated/client.ts";
export type * from "./generated/client.ts";
