// What every service system shares: the database handles, the after-commit event publisher and
// the run-state hot path's caches. One object per API instance (each replica has its own), passed
// to services instead of module-level caches keyed by pool.
import type { Database, Db } from "@flowplane/db";
import type pg from "pg";
import { AuditRecorder } from "./audit/recorder.ts";
import { EventPublisher } from "./events.ts";
import { RunStateCache } from "./run-state/cache.ts";

export interface Resources {
  prisma: Db;
  pool: pg.Pool;
  /** The one way events leave a change: after its commit. */
  publisher: EventPublisher;
  /** Runs this process wrote last, and the coalescers of the proposal hot path. */
  runStates: RunStateCache;
  /** Appends to the audit log in batches, off the request path. */
  audit: AuditRecorder;
}

export function createResources(
  db: Pick<Database, "prisma" | "pool">,
  options: { onAuditError?: (err: Error) => void; auditFlushIntervalMs?: number } = {},
): Resources {
  return {
    audit: new AuditRecorder(db.pool, {
      ...(options.onAuditError ? { onError: options.onAuditError } : {}),
      ...(options.auditFlushIntervalMs !== undefined ? { flushIntervalMs: options.auditFlushIntervalMs } : {}),
    }),
    prisma: db.prisma,
    pool: db.pool,
    publisher: new EventPublisher(db.pool),
    runStates: new RunStateCache(db.pool),
  };
}
