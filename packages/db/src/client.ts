// One pg pool per process, shared by the Prisma client (through the pg driver adapter) and the
// hand-written SQL on hot paths (claims, batched ingestion), so both count against one limit.
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.ts";

export type Db = PrismaClient;

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Maximum pooled connections (default 10). */
  poolSize?: number;
  /** Called when an idle pooled connection errors (e.g. the server restarted). */
  onPoolError?: (err: Error) => void;
}

export function connectDatabase(url: string, options: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on("error", (err) => options.onPoolError?.(err));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    url,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** Throws a readable error when the database cannot be reached within `timeoutMs`. */
export async function checkDatabaseReachable(url: string, timeoutMs = 5_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (err) {
    throw new DatabaseUnreachableError(url, err instanceof Error ? err.message : String(err));
  } finally {
    await client.end().catch(() => {});
  }
}

export class DatabaseUnreachableError extends Error {
  constructor(url: string, reason: string) {
    super(`cannot reach the database at ${redactUrl(url)}: ${reason || "connection failed"}`);
    this.name = "DatabaseUnreachableError";
  }
}

/** A database URL fit for logs: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "****";
    return u.toString();
  } catch {
    return "<invalid database URL>";
  }
}
