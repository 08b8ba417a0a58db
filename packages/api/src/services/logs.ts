// Reading a run's logs (ingestion.ts writes them).
import { notFound } from "../errors.ts";
import type { Resources } from "./resources.ts";

export interface LogQuery {
  flowRunId: string;
  taskRunId?: string | undefined;
  minLevel?: number | undefined;
  search?: string | undefined;
  /** Continue a tail after this log line. */
  after?: { timestamp: string; id: string } | undefined;
  limit: number;
}

/** A run's logs oldest first; `after` (a log id) continues a tail. */
export async function listLogs(res: Resources, workspaceId: string, input: LogQuery) {
  const run = await res.prisma.flowRun.findFirst({
    where: { id: input.flowRunId, workspaceId },
    select: { id: true },
  });
  if (!run) throw notFound("flow run", input.flowRunId);
  const { rows } = await res.pool.query<{
    id: string;
    taskRunId: string | null;
    name: string;
    level: number;
    message: string;
    timestamp: Date;
  }>(
    `SELECT id, "taskRunId", name, level, message, timestamp FROM "Log"
      WHERE "flowRunId" = $1 AND "workspaceId" = $2
        AND ($3::uuid IS NULL OR "taskRunId" = $3)
        AND ($4::int IS NULL OR level >= $4)
        AND ($5::text IS NULL OR message ILIKE '%' || $5 || '%')
        AND ($6::timestamptz IS NULL OR (timestamp, id) > ($6, $7::uuid))
      ORDER BY timestamp, id LIMIT $8`,
    [
      run.id,
      workspaceId,
      input.taskRunId ?? null,
      input.minLevel ?? null,
      input.search ?? null,
      input.after?.timestamp ?? null,
      input.after?.id ?? null,
      input.limit,
    ],
  );
  return rows.map((r) => ({ ...r, timestamp: r.timestamp.toISOString() }));
}
