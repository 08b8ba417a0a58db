// The audit log's writer. Requests hand it entries and go on; it writes them in one multi-row
// INSERT per flush (every `flushIntervalMs`, or at once when `maxBatch` are waiting), so the audit
// log adds no round trip to any request.
//
// Two kinds of entry:
// - `record`: one row per event (people's mutations, sign-ins, refusals, secret reads);
// - `count`: repeated calls that only matter as a rate - the worker runtime's successful claims,
//   state proposals, heartbeats and log batches, and floods of rate-limited or unauthenticated
//   calls - are summed per (workspace, actor, action, outcome, IP) into one row per flush with a
//   `count`. Those calls are recorded in detail elsewhere already (each accepted state in the run's
//   state history with its proposer; logs in the log table), and one row per call would make the
//   audit log the largest table and the dispatch hot path's biggest writer.
//
// Durability: a crash loses at most one flush interval of entries. A flush that fails is retried at
// the next tick with the same entries (up to `maxBuffered`; beyond that the oldest are dropped and
// the drop is reported through `onError`), so a database restart loses nothing.
import type pg from "pg";
import { uuidv7 } from "@flowplane/core";

export type AuditOutcome = "ok" | "refused" | "failed";
export type AuditActorType = "user" | "service-account" | "anonymous";

export interface AuditActor {
  type: AuditActorType;
  /** The user's or service account's id. */
  id: string | null;
  /** The user's email, the service account's name. */
  name: string | null;
  /** The key used, if any; its name (and, for a refused key, its id and workspace) are filled in at insert. */
  apiKeyId: string | null;
  /** The prefix of the key presented (known even when the key was refused). */
  apiKeyPrefix: string | null;
}

export interface AuditEntry {
  /** Null when unknown: the key's workspace is then filled in at insert if its prefix matches a key. */
  workspaceId: string | null;
  actor: AuditActor;
  action: string;
  /** Identifiers only: build it with `auditTarget` (target.ts), never from raw input. */
  target: Record<string, unknown> | null;
  outcome: AuditOutcome;
  errorCode: string | null;
  ip: string | null;
  userAgent: string | null;
  occurredAt?: Date;
}

interface Row extends AuditEntry {
  id: string;
  occurredAt: Date;
  count: number;
}

export interface AuditRecorderOptions {
  flushIntervalMs?: number;
  /** A flush starts at once when this many rows wait. */
  maxBatch?: number;
  /** Rows kept while the database is unreachable; the oldest are dropped beyond it. */
  maxBuffered?: number;
  onError?: (err: Error) => void;
}

export class AuditRecorder {
  private rows: Row[] = [];
  private readonly summaries = new Map<string, Row>();
  private flushing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: AuditRecorderOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxBuffered = options.maxBuffered ?? 50_000;
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    // Never keeps a process alive on its own; `close` writes what is left.
    this.timer.unref();
  }

  /** One row for this event. */
  record(entry: AuditEntry): void {
    if (this.closed) return;
    this.rows.push({ ...entry, id: uuidv7(), occurredAt: entry.occurredAt ?? new Date(), count: 1 });
    if (this.rows.length >= this.maxBatch) void this.flush();
  }

  /** Adds one to this flush's summary row of identical calls (target is not kept). */
  count(entry: AuditEntry): void {
    if (this.closed) return;
    const a = entry.actor;
    const key = [entry.workspaceId, a.type, a.id, a.apiKeyId, a.apiKeyPrefix, entry.action, entry.outcome]
      .concat([entry.errorCode, entry.ip])
      .join("\u0000");
    const existing = this.summaries.get(key);
    if (existing) existing.count++;
    else
      this.summaries.set(key, {
        ...entry,
        target: null,
        id: uuidv7(),
        occurredAt: entry.occurredAt ?? new Date(),
        count: 1,
      });
  }

  /** Writes everything recorded so far; resolves when it is in the database (or failed, see onError). */
  async flush(): Promise<void> {
    // One flush at a time keeps rows in order and never sends the same row twice.
    while (this.flushing) await this.flushing;
    if (this.rows.length === 0 && this.summaries.size === 0) return;
    const batch = this.rows.concat([...this.summaries.values()]);
    this.rows = [];
    this.summaries.clear();
    this.flushing = this.write(batch).finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(batch: Row[]): Promise<void> {
    try {
      for (let i = 0; i < batch.length; i += this.maxBatch)
        await insertAuditRows(this.pool, batch.slice(i, i + this.maxBatch));
    } catch (err) {
      // Keep them for the next tick, newest last, within the bound.
      const kept = batch.concat(this.rows);
      const dropped = Math.max(0, kept.length - this.maxBuffered);
      this.rows = kept.slice(dropped);
      const message = `audit log write failed; ${this.rows.length} entries kept for retry${dropped ? `, ${dropped} oldest dropped` : ""}`;
      this.options.onError?.(Object.assign(new Error(message), { cause: err }));
    }
  }
}

/**
 * One statement for a batch. The key's workspace, id and name are filled in from its prefix when
 * the caller did not know them (a refused key), so an admin sees attempts made with their keys.
 */
async function insertAuditRows(pool: pg.Pool, rows: readonly Row[]): Promise<void> {
  const col = <T>(f: (r: Row) => T) => rows.map(f);
  await pool.query(
    `INSERT INTO "AuditEvent" (id, "workspaceId", "occurredAt", "actorType", "actorId", "actorName", "apiKeyId",
                               "apiKeyName", "apiKeyPrefix", action, target, outcome, "errorCode", count, ip, "userAgent")
     SELECT e.id, COALESCE(e.ws, k."workspaceId"), e.at, e.atype, e.aid, e.aname, COALESCE(e.kid, k.id), k.name,
            COALESCE(e.kprefix, k.prefix), e.action, e.target::jsonb, e.outcome, e.code, e.n, e.ip, e.ua
       FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::uuid[],
                   $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::text[], $15::text[])
            AS e(id, ws, at, atype, aid, aname, kid, kprefix, action, target, outcome, code, n, ip, ua)
       LEFT JOIN LATERAL (
            SELECT "workspaceId", id, name, prefix FROM "ApiKey"
             WHERE (e.kid IS NOT NULL AND id = e.kid) OR (e.kid IS NULL AND prefix = e.kprefix)
             LIMIT 1) k ON true`,
    [
      col((r) => r.id),
      col((r) => r.workspaceId),
      col((r) => r.occurredAt),
      col((r) => r.actor.type),
      col((r) => r.actor.id),
      col((r) => r.actor.name),
      col((r) => r.actor.apiKeyId),
      col((r) => r.actor.apiKeyPrefix),
      col((r) => r.action),
      col((r) => (r.target ? JSON.stringify(r.target) : null)),
      col((r) => r.outcome),
      col((r) => r.errorCode),
      col((r) => r.count),
      col((r) => r.ip),
      col((r) => r.userAgent?.slice(0, 512) ?? null),
    ],
  );
}
