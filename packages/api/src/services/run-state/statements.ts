// The SQL that makes a state a run's current one: the run's columns (one rule set, stateAssignments),
// its history row (uuidv7 ids, so history sorts in write order) and nothing else. Events are not
// sent from here: the callers publish them after the commit (EventPublisher says why).
import { isTerminal, uuidv7, type State } from "@flowplane/core";
import type pg from "pg";
import { RUN_COLUMNS, TERMINAL_STATES_SQL, type VersionedRun } from "./rows.ts";

/**
 * The SET list that makes a state the run's current one (for `UPDATE "FlowRun" fr`), from SQL
 * expressions for the state's fields, shared by every write of a run's state (one run, many runs,
 * the claim). Entering RUNNING counts an attempt and starts the heartbeat clock; PENDING is a claim
 * (the worker, its deadline and a new claim token are set by the claim, kept otherwise); SCHEDULED
 * (a retry or a reschedule) releases the worker and voids its claim token so another claim can
 * pick the run up and the old attempt's writes are refused; terminal states stop the clock.
 */
export function stateAssignments(e: {
  type: string;
  name: string;
  ts: string;
  message: string;
  transitionId: string;
  terminal: string;
  scheduledTime: string;
  /** The claim: who holds the run and until when it must start. */
  claim?: { workerId: string; expiresAt: string };
}): string {
  const claimExpires = e.claim
    ? e.claim.expiresAt
    : `CASE WHEN ${e.type} = 'PENDING' THEN fr."claimExpiresAt" ELSE NULL END`;
  const worker = e.claim ? e.claim.workerId : `CASE WHEN ${e.type} = 'SCHEDULED' THEN NULL ELSE fr."workerId" END`;
  // A claim issues a new random token; SCHEDULED voids it (whoever held the run no longer does).
  // A run outside any pool is never claimed: its token is the attempt that created it (a sub-flow
  // run of a run token's attempt, see run-state/fence.ts), kept through its own retries.
  const claimToken = e.claim
    ? "gen_random_uuid()"
    : `CASE WHEN ${e.type} = 'SCHEDULED' AND fr."workPoolId" IS NOT NULL THEN NULL ELSE fr."claimToken" END`;
  return `"stateType" = ${e.type}, "stateName" = ${e.name}, "stateTimestamp" = ${e.ts}, "stateMessage" = ${e.message}, "stateTransitionId" = ${e.transitionId},
         "runCount" = fr."runCount" + CASE WHEN ${e.type} = 'RUNNING' THEN 1 ELSE 0 END,
         "startTime" = CASE WHEN ${e.type} = 'RUNNING' THEN COALESCE(fr."startTime", ${e.ts}) ELSE fr."startTime" END,
         "endTime" = CASE WHEN ${e.terminal} THEN ${e.ts} WHEN ${e.type} = 'RUNNING' THEN NULL ELSE fr."endTime" END,
         "heartbeatAt" = CASE WHEN ${e.type} = 'RUNNING' THEN ${e.ts} WHEN ${e.terminal} THEN NULL ELSE fr."heartbeatAt" END,
         "claimExpiresAt" = ${claimExpires},
         "nextScheduledTime" = CASE WHEN ${e.type} = 'SCHEDULED' THEN COALESCE(${e.scheduledTime}, fr."nextScheduledTime", ${e.ts}) ELSE fr."nextScheduledTime" END,
         "workerId" = ${worker},
         "claimToken" = ${claimToken},
         "updatedAt" = ${e.ts}`;
}

type RunRef = Pick<VersionedRun, "id" | "workspaceId">;

/**
 * One statement that stores `state` as the run's current state and appends it to the history
 * (after `failedFirst`, if given). With `ifVersion` it does so only if the row's xmin still equals
 * it. It answers the row as written (with its new version), or no row if it wrote nothing.
 */
export function stateWriteStatement(
  run: RunRef,
  state: State,
  options: { failedFirst?: State | null; ifVersion?: string } = {},
): pg.QueryConfig {
  const failed = options.failedFirst;
  // The history ids are uuidv7, so the FAILED row (generated first) sorts before AwaitingRetry.
  const failedId = failed ? uuidv7() : null;
  const values: unknown[] = [
    uuidv7(),
    run.workspaceId,
    run.id,
    state.type,
    state.name,
    new Date(state.timestamp),
    state.message ?? null,
    state.transitionId ?? null,
    JSON.stringify(state.details ?? {}),
    isTerminal(state.type),
    state.details.scheduledTime ? new Date(state.details.scheduledTime) : null,
  ];
  const param = (v: unknown) => `$${values.push(v)}`;
  // Named (prepared) per shape, so the hot shapes are planned once per connection.
  const shape = [options.ifVersion !== undefined ? "v" : "", failed ? "f" : ""].join("");
  const versionCheck = options.ifVersion !== undefined ? ` AND xmin = ${param(options.ifVersion)}::text::xid` : "";
  const failedHistory = failed
    ? `, failed AS (
       INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, details)
       SELECT ${param(failedId)}, $2, $3, ${param(failed.type)}::"StateType", ${param(failed.name)}, ${param(new Date(failed.timestamp))}, ${param(failed.message ?? null)}, ${param(JSON.stringify(failed.details ?? {}))}
         FROM updated
     )`
    : "";
  return {
    name: `flowplane_write_flow_run_state_${shape}`,
    text: `WITH updated AS (
       UPDATE "FlowRun" fr SET ${stateAssignments({ type: `$4::"StateType"`, name: "$5", ts: "$6", message: "$7", transitionId: "$8", terminal: "$10", scheduledTime: "$11" })}
       WHERE id = $3${versionCheck}
       RETURNING ${RUN_COLUMNS}, xmin::text AS version
     )${failedHistory},
     history AS (
       INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, "transitionId", details)
       SELECT $1, $2, $3, $4::"StateType", $5, $6, $7, $8, $9 FROM updated
     )
     SELECT updated.* FROM updated`,
    values,
  };
}

export interface VersionedWrite {
  run: VersionedRun;
  state: State;
}

/**
 * stateWriteStatement for many runs at once, each applied only if its row is still at the version
 * it was decided from: one UPDATE over the rows, one INSERT of their history, one commit. Answers
 * the rows as written, in the writes' order (null where the row had changed). `sql` is the pool
 * (autocommit, the hot path) or a transaction's client that holds the rows' locks.
 */
export async function writeFlowRunStates(
  sql: pg.Pool | pg.PoolClient,
  writes: VersionedWrite[],
): Promise<(VersionedRun | null)[]> {
  if (writes.length === 0) return [];
  if (writes.length === 1) {
    const { run, state } = writes[0]!;
    const { rows } = await sql.query<VersionedRun>(stateWriteStatement(run, state, { ifVersion: run.version }));
    return [rows[0] ?? null];
  }
  const column = <T>(pick: (w: VersionedWrite) => T) => writes.map(pick);
  const { rows } = await sql.query<VersionedRun>({
    name: "flowplane_write_flow_run_states",
    text: `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::"StateType"[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::jsonb[], $9::timestamptz[], $10::text[])
         AS i(state_id, run_id, type, name, ts, message, transition_id, details, scheduled_time, version)
     ),
     updated AS (
       UPDATE "FlowRun" fr SET ${stateAssignments({ type: "i.type", name: "i.name", ts: "i.ts", message: "i.message", transitionId: "i.transition_id", terminal: `i.type IN ${TERMINAL_STATES_SQL}`, scheduledTime: "i.scheduled_time" })}
         FROM input i
        WHERE fr.id = i.run_id AND fr.xmin = i.version::xid
       RETURNING ${RUN_COLUMNS}, fr.xmin::text AS version,
                 i.state_id, i.type, i.name, i.ts, i.message, i.transition_id, i.details
     ),
     history AS (
       INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, "transitionId", details)
       SELECT state_id, "workspaceId", id, type, name, ts, message, transition_id, details FROM updated
     )
     SELECT ${RUN_COLUMNS}, version FROM updated`,
    values: [
      column(() => uuidv7()),
      column((w) => w.run.id),
      column((w) => w.state.type),
      column((w) => w.state.name),
      column((w) => new Date(w.state.timestamp)),
      column((w) => w.state.message ?? null),
      column((w) => w.state.transitionId ?? null),
      column((w) => JSON.stringify(w.state.details ?? {})),
      column((w) => (w.state.details.scheduledTime ? new Date(w.state.details.scheduledTime) : null)),
      column((w) => w.run.version),
    ],
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return writes.map((w) => byId.get(w.run.id) ?? null);
}

/** Reads runs with their versions, in the ids' order (null where missing). */
export async function readFlowRuns(pool: pg.Pool, ids: string[]): Promise<(VersionedRun | null)[]> {
  const { rows } = await pool.query<VersionedRun>({
    name: "flowplane_read_flow_runs",
    text: `SELECT ${RUN_COLUMNS}, xmin::text AS version FROM "FlowRun" WHERE id = ANY($1::uuid[])`,
    values: [ids],
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id) ?? null);
}
