// Reading the audit log: a workspace's entries, newest first (the page and `audit ls`), or oldest
// first from a time (the export). Reads first write what this replica still holds in memory, so a
// caller sees its own calls.
import type { Prisma } from "@flowplane/db";
import { invalid } from "../../errors.ts";
import type { Resources } from "../resources.ts";
import type { AuditActorType, AuditOutcome } from "./recorder.ts";

export interface AuditFilter {
  /** A user's email, a service account's or key's name or id, or a key's prefix. */
  actor?: string | undefined;
  /** A procedure path (`secrets.set`), or a prefix ending in `.` or `*` (`secrets.`, `auth.*`). */
  action?: string | undefined;
  outcome?: AuditOutcome | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

export interface AuditEventView {
  id: string;
  occurredAt: string;
  workspaceId: string | null;
  actor: {
    type: AuditActorType;
    id: string | null;
    name: string | null;
    apiKeyId: string | null;
    apiKeyName: string | null;
    apiKeyPrefix: string | null;
  };
  action: string;
  target: unknown;
  outcome: AuditOutcome;
  errorCode: string | null;
  count: number;
  ip: string | null;
  userAgent: string | null;
}

const select = {
  id: true,
  occurredAt: true,
  workspaceId: true,
  actorType: true,
  actorId: true,
  actorName: true,
  apiKeyId: true,
  apiKeyName: true,
  apiKeyPrefix: true,
  action: true,
  target: true,
  outcome: true,
  errorCode: true,
  count: true,
  ip: true,
  userAgent: true,
} as const;

type Row = Prisma.AuditEventGetPayload<{ select: typeof select }>;

function present(r: Row): AuditEventView {
  return {
    id: r.id,
    occurredAt: r.occurredAt.toISOString(),
    workspaceId: r.workspaceId,
    actor: {
      type: r.actorType as AuditActorType,
      id: r.actorId,
      name: r.actorName,
      apiKeyId: r.apiKeyId,
      apiKeyName: r.apiKeyName,
      apiKeyPrefix: r.apiKeyPrefix,
    },
    action: r.action,
    target: r.target,
    outcome: r.outcome as AuditOutcome,
    errorCode: r.errorCode,
    count: r.count,
    ip: r.ip,
    userAgent: r.userAgent,
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function where(workspaceId: string, filter: AuditFilter): Prisma.AuditEventWhereInput {
  const and: Prisma.AuditEventWhereInput[] = [{ workspaceId }];
  if (filter.actor) {
    const a = filter.actor;
    and.push({
      OR: [
        { actorName: a },
        { actorId: a },
        { apiKeyName: a },
        { apiKeyPrefix: a },
        ...(UUID_RE.test(a) ? [{ apiKeyId: a }] : []),
      ],
    });
  }
  if (filter.action) {
    const a = filter.action;
    if (a.endsWith("*")) and.push({ action: { startsWith: a.slice(0, -1) } });
    else if (a.endsWith(".")) and.push({ action: { startsWith: a } });
    else and.push({ action: a });
  }
  if (filter.outcome) and.push({ outcome: filter.outcome });
  if (filter.since) and.push({ occurredAt: { gte: filter.since } });
  if (filter.until) and.push({ occurredAt: { lt: filter.until } });
  return { AND: and };
}

/** Cursors are `<occurredAt ISO>|<id>` of the last entry returned. */
function parseCursor(cursor: string): { at: Date; id: string } {
  const [at, id] = cursor.split("|");
  const date = at ? new Date(at) : null;
  if (!date || Number.isNaN(date.getTime()) || !id || !UUID_RE.test(id))
    throw invalid("cursor", "not a cursor this API returned");
  return { at: date, id };
}
const cursorOf = (r: Row) => `${r.occurredAt.toISOString()}|${r.id}`;

export async function listAuditEvents(
  res: Pick<Resources, "prisma" | "audit">,
  workspaceId: string,
  filter: AuditFilter & { limit: number; cursor?: string | undefined; order?: "newest" | "oldest" },
): Promise<{ events: AuditEventView[]; nextCursor: string | null }> {
  await res.audit.flush();
  const oldest = filter.order === "oldest";
  const base = where(workspaceId, filter);
  let page: Prisma.AuditEventWhereInput = base;
  if (filter.cursor) {
    const c = parseCursor(filter.cursor);
    const cmp = oldest ? "gt" : "lt";
    page = {
      AND: [base, { OR: [{ occurredAt: { [cmp]: c.at } }, { occurredAt: c.at, id: { [cmp]: c.id } }] }],
    };
  }
  const dir = oldest ? "asc" : "desc";
  const rows = await res.prisma.auditEvent.findMany({
    where: page,
    select,
    orderBy: [{ occurredAt: dir }, { id: dir }],
    take: filter.limit + 1,
  });
  const more = rows.length > filter.limit;
  const events = rows.slice(0, filter.limit);
  return { events: events.map(present), nextCursor: more && events.length > 0 ? cursorOf(events.at(-1)!) : null };
}

/** Retention: entries older than `days` go, in bounded batches, through the one function allowed to delete them. */
export async function pruneAuditEvents(res: Pick<Resources, "pool">, days: number, now = new Date()): Promise<number> {
  const { rows } = await res.pool.query<{ deleted: string }>(
    `SELECT flowplane_prune_audit_events($1::timestamptz - make_interval(days => $2::int), 10000) AS deleted`,
    [now, days],
  );
  return Number(rows[0]?.deleted ?? 0);
}
