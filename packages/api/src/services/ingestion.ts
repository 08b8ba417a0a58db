// Batched ingestion of what a running flow reports: task runs, their states, logs and artifacts.
// Each kind is one INSERT ... SELECT FROM unnest(...) statement whatever the batch size, all in one
// transaction (one commit). Rows carry client-made ids and conflicts are ignored, so a batch the
// SDK re-sends after a timeout is stored once. Every row is joined to a run of the caller's
// workspace, so rows naming another workspace's runs are dropped; the counts say what was stored.
// A log or artifact that names a task run must name one of its own flow run: otherwise one
// workspace could attach rows to another's task run (the foreign key alone would accept it), and
// an unknown task run id would fail the whole batch on that key instead of dropping one row.
// Text is made storable first (see storable-text.ts) and over-long messages are truncated, so no
// single record's content can fail the statement its batch shares. A run token's batch is held to
// its attempt's runs the same way (the run's claim token is the attempt's, see run-state/fence.ts):
// rows for any other run are dropped, in the same statements, with no query of their own.
import type pg from "pg";
import type { FlowplaneEvent } from "./events.ts";
import type { Resources } from "./resources.ts";
import { TERMINAL_STATE_TYPES, type IngestBatch } from "@flowplane/core";
import type { RunAttempt } from "./run-state/fence.ts";
import { inTransaction } from "./sql.ts";
import { storableJson, storableText, truncateText } from "./storable-text.ts";

/** A record the API refused, named by its place in the batch (`logs.3`) and its id when it has one. */
export interface IngestRejection {
  path: string;
  id: string | null;
  message: string;
}

export interface IngestOptions {
  /** Log and state messages longer than this are cut, with a marker saying how much. */
  maxMessageChars: number;
  /** A run token's attempt: only rows of its own runs are stored. */
  attempt?: RunAttempt | null;
}

export interface IngestResult {
  taskRuns: number;
  taskRunStates: number;
  logs: number;
  artifacts: number;
}

/** Records a batch in one transaction; its live-update events go out after the commit. */
export async function ingest(
  res: Resources,
  workspaceId: string,
  batch: IngestBatch,
  options: IngestOptions,
): Promise<IngestResult> {
  const { result, events } = await ingestInTransaction(res.pool, workspaceId, batch, options);
  res.publisher.publish(events);
  return result;
}

async function ingestInTransaction(
  pool: pg.Pool,
  workspaceId: string,
  batch: IngestBatch,
  options: IngestOptions,
): Promise<{ result: IngestResult; events: FlowplaneEvent[] }> {
  const message = (text: string) => storableText(truncateText(text, options.maxMessageChars));
  const taskRuns = (batch.taskRuns ?? []).map((t) => ({
    ...t,
    name: storableText(t.name),
    taskKey: storableText(t.taskKey),
    dynamicKey: storableText(t.dynamicKey),
    tags: t.tags.map(storableText),
    cacheKey: t.cacheKey == null ? null : storableText(t.cacheKey),
  }));
  const states = (batch.taskRunStates ?? []).map((s) => ({
    ...s,
    name: storableText(s.name),
    message: s.message == null ? null : message(s.message),
    details: storableJson(s.details ?? {}),
  }));
  const logs = (batch.logs ?? []).map((l) => ({ ...l, name: storableText(l.name), message: message(l.message) }));
  const claimToken = options.attempt?.claimToken ?? null;
  /** The condition holding rows to the attempt's runs (`fr`), with its value as parameter `n`. */
  const inScope = (n: number) => (claimToken === null ? "" : ` AND fr."claimToken" = $${n}::uuid`);
  const scopeValue = claimToken === null ? [] : [claimToken];
  const artifacts = (batch.artifacts ?? []).map((a) => ({
    ...a,
    key: a.key == null ? null : storableText(a.key),
    description: a.description == null ? null : storableText(a.description),
    data: storableJson(a.data ?? null),
  }));
  return inTransaction(pool, async (sql) => {
    const result: IngestResult = { taskRuns: 0, taskRunStates: 0, logs: 0, artifacts: 0 };
    const touchedRuns = new Set<string>();

    if (taskRuns.length > 0) {
      const { rows } = await sql.query<{ flowRunId: string }>(
        `INSERT INTO "TaskRun" (id, "workspaceId", "flowRunId", name, "taskKey", "dynamicKey", tags, "cacheKey",
                                "stateType", "stateName", "stateTimestamp", "expectedStartTime", "createdAt", "updatedAt",
                                "inputTaskRunIds")
         SELECT u.id, fr."workspaceId", u.flow_run_id, u.name, u.task_key, u.dynamic_key,
                ARRAY(SELECT jsonb_array_elements_text(u.tags)), u.cache_key, 'PENDING', 'Pending', u.created_at, u.created_at, u.created_at, now(),
                ARRAY(SELECT jsonb_array_elements_text(u.inputs))::uuid[]
           FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::timestamptz[], $10::jsonb[])
                AS u(id, flow_run_id, name, task_key, dynamic_key, tags, cache_key, created_at, inputs)
           JOIN "FlowRun" fr ON fr.id = u.flow_run_id AND fr."workspaceId" = $1${inScope(11)}
         ON CONFLICT DO NOTHING
         RETURNING "flowRunId"`,
        [
          workspaceId,
          taskRuns.map((t) => t.id),
          taskRuns.map((t) => t.flowRunId),
          taskRuns.map((t) => t.name),
          taskRuns.map((t) => t.taskKey),
          taskRuns.map((t) => t.dynamicKey),
          taskRuns.map((t) => JSON.stringify(t.tags)),
          taskRuns.map((t) => t.cacheKey),
          taskRuns.map((t) => t.createdAt),
          // jsonb, like tags: unnest cannot take a uuid[][] whose rows differ in length.
          taskRuns.map((t) => JSON.stringify(t.inputTaskRunIds ?? [])),
          ...scopeValue,
        ],
      );
      result.taskRuns = rows.length;
      for (const r of rows) touchedRuns.add(r.flowRunId);
    }

    if (states.length > 0) {
      const { rows } = await sql.query<{ inserted: number; flowRunIds: string[] }>(
        `WITH input AS (
           SELECT u.*, tr."flowRunId" AS flow_run_id
             FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::jsonb[])
                  AS u(id, task_run_id, type, name, ts, message, details)
             JOIN "TaskRun" tr ON tr.id = u.task_run_id AND tr."workspaceId" = $1${
               claimToken === null
                 ? ""
                 : `
             JOIN "FlowRun" fr ON fr.id = tr."flowRunId"${inScope(10)}`
             }
         ),
         inserted AS (
           INSERT INTO "State" (id, "workspaceId", "taskRunId", type, name, timestamp, message, details)
           SELECT i.id, $1, i.task_run_id, i.type::"StateType", i.name, i.ts, i.message, i.details FROM input i
           ON CONFLICT DO NOTHING
           RETURNING id, "taskRunId", type, name, timestamp, message, details
         ),
         latest AS (
           SELECT DISTINCT ON ("taskRunId") "taskRunId", type, name, timestamp, message, details
             FROM inserted ORDER BY "taskRunId", timestamp DESC, id DESC
         ),
         per_run AS (
           SELECT "taskRunId",
                  count(*) FILTER (WHERE type = 'RUNNING') AS attempts,
                  min(timestamp) FILTER (WHERE type = 'RUNNING') AS started,
                  max(timestamp) FILTER (WHERE type = ANY($9::"StateType"[])) AS ended
             FROM inserted GROUP BY "taskRunId"
         ),
         updated AS (
           UPDATE "TaskRun" tr SET
             "stateType" = CASE WHEN l.timestamp >= tr."stateTimestamp" THEN l.type ELSE tr."stateType" END,
             "stateName" = CASE WHEN l.timestamp >= tr."stateTimestamp" THEN l.name ELSE tr."stateName" END,
             "stateMessage" = CASE WHEN l.timestamp >= tr."stateTimestamp" THEN l.message ELSE tr."stateMessage" END,
             "stateTimestamp" = GREATEST(l.timestamp, tr."stateTimestamp"),
             "cacheKey" = COALESCE(l.details->>'cacheKey', tr."cacheKey"),
             "runCount" = tr."runCount" + p.attempts,
             "startTime" = COALESCE(tr."startTime", p.started),
             "endTime" = COALESCE(p.ended, tr."endTime"),
             "updatedAt" = now()
             FROM latest l JOIN per_run p ON p."taskRunId" = l."taskRunId"
            WHERE tr.id = l."taskRunId"
           RETURNING tr."flowRunId"
         )
         SELECT (SELECT count(*) FROM inserted)::int AS inserted, ARRAY(SELECT DISTINCT "flowRunId" FROM updated) AS "flowRunIds"`,
        [
          workspaceId,
          states.map((s) => s.id),
          states.map((s) => s.taskRunId),
          states.map((s) => s.type),
          states.map((s) => s.name),
          states.map((s) => s.timestamp),
          states.map((s) => s.message),
          states.map((s) => JSON.stringify(s.details)),
          TERMINAL_STATE_TYPES,
          ...scopeValue,
        ],
      );
      result.taskRunStates = rows[0]?.inserted ?? 0;
      for (const id of rows[0]?.flowRunIds ?? []) touchedRuns.add(id);
    }

    const logRuns = new Set<string>();
    if (logs.length > 0) {
      const { rows } = await sql.query<{ flowRunId: string }>(
        `INSERT INTO "Log" (id, "workspaceId", "flowRunId", "taskRunId", name, level, message, timestamp)
         SELECT u.id, $1, u.flow_run_id, u.task_run_id, u.name, u.level, u.message, u.ts
           FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::int[], $7::text[], $8::timestamptz[])
                AS u(id, flow_run_id, task_run_id, name, level, message, ts)
           JOIN "FlowRun" fr ON fr.id = u.flow_run_id AND fr."workspaceId" = $1${inScope(9)}
           LEFT JOIN "TaskRun" tr ON tr.id = u.task_run_id AND tr."flowRunId" = u.flow_run_id
          WHERE u.task_run_id IS NULL OR tr.id IS NOT NULL
         ON CONFLICT DO NOTHING
         RETURNING "flowRunId"`,
        [
          workspaceId,
          logs.map((l) => l.id),
          logs.map((l) => l.flowRunId),
          logs.map((l) => l.taskRunId ?? null),
          logs.map((l) => l.name),
          logs.map((l) => l.level),
          logs.map((l) => l.message),
          logs.map((l) => l.timestamp),
          ...scopeValue,
        ],
      );
      result.logs = rows.length;
      for (const r of rows) logRuns.add(r.flowRunId);
    }

    if (artifacts.length > 0) {
      const { rows } = await sql.query<{ flowRunId: string | null }>(
        `INSERT INTO "Artifact" (id, "workspaceId", "flowRunId", "taskRunId", key, type, description, data)
         SELECT u.id, $1, u.flow_run_id, u.task_run_id, u.key, u.type::"ArtifactType", u.description, u.data
           FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
                AS u(id, flow_run_id, task_run_id, key, type, description, data)
           LEFT JOIN "FlowRun" fr ON fr.id = u.flow_run_id AND fr."workspaceId" = $1
           LEFT JOIN "TaskRun" tr ON tr.id = u.task_run_id AND tr."flowRunId" = u.flow_run_id
          -- A run-less artifact names no run at all; one that names a run must name one of ours.
          WHERE ${claimToken === null ? "(u.flow_run_id IS NULL AND u.task_run_id IS NULL) OR" : ""}
                (fr.id IS NOT NULL AND (u.task_run_id IS NULL OR tr.id IS NOT NULL)${inScope(9)})
         ON CONFLICT DO NOTHING
         RETURNING "flowRunId"`,
        [
          workspaceId,
          artifacts.map((a) => a.id),
          artifacts.map((a) => a.flowRunId ?? null),
          artifacts.map((a) => a.taskRunId ?? null),
          artifacts.map((a) => a.key),
          artifacts.map((a) => a.type),
          artifacts.map((a) => a.description),
          artifacts.map((a) => JSON.stringify(a.data)),
          ...scopeValue,
        ],
      );
      result.artifacts = rows.length;
      for (const r of rows) if (r.flowRunId !== null) touchedRuns.add(r.flowRunId);
    }

    const events: FlowplaneEvent[] = [];
    if (touchedRuns.size > 0)
      events.push({ kind: "task_runs", workspaceId, flowRunIds: [...touchedRuns].slice(0, 50) });
    if (logRuns.size > 0) events.push({ kind: "logs", workspaceId, flowRunIds: [...logRuns].slice(0, 50) });
    return { result, events };
  });
}
