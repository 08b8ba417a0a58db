// Flow runs: creation, reads, and state proposals. A proposal locks the run row, asks the pure
// orchestration rules (packages/core) for a decision, and writes the resulting state into the
// history and onto the run in one transaction, so concurrent proposals are serialised per run and
// a repeated transitionId is answered without a second write.
import { isTerminal, normalizeState, orchestrate, type OrchestrationDecision, type RetryPolicy, type State, type StateInput, type StateType, uuidv7 } from "@flowplane/core";
import type { Db } from "@flowplane/db";
import type pg from "pg";
import { ApiError, notFound } from "../errors.ts";
import { publish } from "./events.ts";
import { inTransaction, type Sql } from "./sql.ts";
import { generateRunName } from "./run-names.ts";

export interface CreateFlowRunInput {
  flowName: string;
  parameters?: Record<string, unknown>;
  tags?: string[];
  parentTaskRunId?: string | null;
  deploymentId?: string | null;
  idempotencyKey?: string | null;
  retryPolicy?: RetryPolicy;
  /** Initial state; defaults to SCHEDULED now for deployment runs and PENDING-less RUNNING-ready SCHEDULED for ad-hoc runs. */
  state?: StateInput;
  jobVariables?: Record<string, unknown>;
  name?: string;
}

export interface ProposalOutcome {
  decision: OrchestrationDecision["status"];
  state: State;
  reason?: string;
  delaySeconds?: number;
}

interface LockedRun {
  id: string;
  workspaceId: string;
  stateType: StateType;
  stateName: string;
  stateTimestamp: Date;
  stateMessage: string | null;
  stateTransitionId: string | null;
  runCount: number;
  retryPolicy: RetryPolicy;
  nextScheduledTime: Date | null;
  workPoolId: string | null;
  deploymentId: string | null;
  workerId: string | null;
}

export function stateOfRow(row: Pick<LockedRun, "stateType" | "stateName" | "stateTimestamp" | "stateMessage" | "stateTransitionId">): State {
  return {
    type: row.stateType,
    name: row.stateName,
    timestamp: row.stateTimestamp.toISOString(),
    message: row.stateMessage,
    transitionId: row.stateTransitionId,
    details: {},
  };
}

/**
 * What to propose; a function chooses under the row lock from the run's current state (or refuses),
 * so requests like cancel and retry never act on a state that changed since they looked.
 */
export type Proposal = StateInput | ((current: State) => StateInput | { abort: string });

/**
 * Proposes a state for a flow run. Returns the decision; writes happen only for ACCEPT and for
 * REJECT decisions that carry a state to store (e.g. AwaitingRetry instead of FAILED).
 */
export async function proposeFlowRunState(
  pool: pg.Pool,
  workspaceId: string,
  flowRunId: string,
  proposal: Proposal,
  options: { force?: boolean; now?: Date } = {},
): Promise<ProposalOutcome> {
  return inTransaction(pool, async (sql) => {
    const now = options.now ?? new Date();
    const run = await lockFlowRun(sql, workspaceId, flowRunId);
    if (!run) throw notFound("flow run", flowRunId);
    const proposed = typeof proposal === "function" ? proposal(stateOfRow(run)) : proposal;
    if ("abort" in proposed) return { decision: "ABORT", state: stateOfRow(run), reason: proposed.abort };
    const decision = orchestrate({
      kind: "flow",
      now,
      current: stateOfRow(run),
      proposed,
      run: { runCount: run.runCount, retryPolicy: run.retryPolicy, nextScheduledTime: run.nextScheduledTime },
      force: options.force ?? false,
    });
    switch (decision.status) {
      case "ACCEPT":
        await writeFlowRunState(sql, run, decision.state);
        return { decision: "ACCEPT", state: decision.state };
      case "REJECT":
        if (decision.write) {
          // A failure turned into a retry stays visible: history shows FAILED/CRASHED, then AwaitingRetry.
          if (decision.rule === "RetryFailedRuns") await appendHistory(sql, run, normalizeState(proposed, now));
          await writeFlowRunState(sql, run, decision.state);
        }
        return { decision: "REJECT", state: decision.state, reason: decision.reason };
      case "WAIT":
        return { decision: "WAIT", state: stateOfRow(run), reason: decision.reason, delaySeconds: decision.delaySeconds };
      case "ABORT":
        return { decision: "ABORT", state: stateOfRow(run), reason: decision.reason };
      default: {
        const unreachable: never = decision;
        return unreachable;
      }
    }
  });
}

async function lockFlowRun(sql: Sql, workspaceId: string, flowRunId: string): Promise<LockedRun | null> {
  const { rows } = await sql.query<LockedRun>(
    `SELECT id, "workspaceId", "stateType", "stateName", "stateTimestamp", "stateMessage", "stateTransitionId",
            "runCount", "retryPolicy", "nextScheduledTime", "workPoolId", "deploymentId", "workerId"
       FROM "FlowRun" WHERE id = $1 AND "workspaceId" = $2 FOR UPDATE`,
    [flowRunId, workspaceId],
  );
  return rows[0] ?? null;
}

/**
 * Stores `state` as the run's current state and appends it to the history. Entering RUNNING counts
 * an attempt and starts the heartbeat clock; SCHEDULED (a retry or a reschedule) releases the
 * worker so another claim can pick the run up; terminal states stop the clock.
 */
export async function writeFlowRunState(sql: Sql, run: Pick<LockedRun, "id" | "workspaceId" | "workPoolId" | "deploymentId" | "workerId">, state: State): Promise<void> {
  const scheduledTime = state.details.scheduledTime ? new Date(state.details.scheduledTime) : null;
  const terminal = state.type === "COMPLETED" || state.type === "FAILED" || state.type === "CANCELLED" || state.type === "CRASHED";
  await sql.query(
    `WITH history AS (
       INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, "transitionId", details)
       VALUES ($1, $2, $3, $4::"StateType", $5, $6, $7, $8, $9)
     )
     UPDATE "FlowRun" SET
       "stateType" = $4::"StateType", "stateName" = $5, "stateTimestamp" = $6, "stateMessage" = $7, "stateTransitionId" = $8,
       "runCount" = "runCount" + CASE WHEN $4 = 'RUNNING' THEN 1 ELSE 0 END,
       "startTime" = CASE WHEN $4 = 'RUNNING' THEN COALESCE("startTime", $6) ELSE "startTime" END,
       "endTime" = CASE WHEN $10 THEN $6 WHEN $4 = 'RUNNING' THEN NULL ELSE "endTime" END,
       "heartbeatAt" = CASE WHEN $4 = 'RUNNING' THEN $6 WHEN $10 THEN NULL ELSE "heartbeatAt" END,
       "claimExpiresAt" = CASE WHEN $4 = 'PENDING' THEN "claimExpiresAt" ELSE NULL END,
       "nextScheduledTime" = CASE WHEN $4 = 'SCHEDULED' THEN COALESCE($11, "nextScheduledTime", $6) ELSE "nextScheduledTime" END,
       "workerId" = CASE WHEN $4 = 'SCHEDULED' THEN NULL ELSE "workerId" END,
       "updatedAt" = $6
     WHERE id = $3`,
    [uuidv7(), run.workspaceId, run.id, state.type, state.name, new Date(state.timestamp), state.message ?? null, state.transitionId ?? null, JSON.stringify(state.details ?? {}), terminal, scheduledTime],
  );
  await publish(sql, { kind: "flow_run", workspaceId: run.workspaceId, flowRunId: run.id, stateType: state.type, stateName: state.name, workPoolId: run.workPoolId, deploymentId: run.deploymentId });
  if (state.type === "SCHEDULED" && run.workPoolId) await publish(sql, { kind: "runs_ready", workspaceId: run.workspaceId, workPoolId: run.workPoolId });
  if (state.type === "CANCELLING") await publish(sql, { kind: "cancel_requested", workspaceId: run.workspaceId, flowRunId: run.id, workerId: run.workerId });
}

/** Adds a state to the run's history without making it the current state. */
async function appendHistory(sql: Sql, run: Pick<LockedRun, "id" | "workspaceId">, state: State): Promise<void> {
  await sql.query(
    `INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, details) VALUES ($1, $2, $3, $4::"StateType", $5, $6, $7, $8)`,
    [uuidv7(), run.workspaceId, run.id, state.type, state.name, new Date(state.timestamp), state.message ?? null, JSON.stringify(state.details ?? {})],
  );
}

/**
 * The flow's id, registering the flow on first use. Concurrent first runs of a new flow (a `.map`
 * over a sub-flow, several workers) are common, and Prisma's upsert reads then inserts, so all but
 * one failed on the unique name. ON CONFLICT DO NOTHING cannot fail that way; the loser reads the
 * winner's row in a new statement, whose snapshot sees it.
 */
async function ensureFlow(pool: pg.Pool, workspaceId: string, name: string): Promise<string> {
  const find = async () => (await pool.query<{ id: string }>(`SELECT id FROM "Flow" WHERE "workspaceId" = $1 AND name = $2`, [workspaceId, name])).rows[0];
  const existing = await find();
  if (existing) return existing.id;
  const inserted = await pool.query<{ id: string }>(
    `INSERT INTO "Flow" (id, "workspaceId", name, tags, "createdAt", "updatedAt") VALUES ($1, $2, $3, '{}', now(), now())
     ON CONFLICT ("workspaceId", name) DO NOTHING RETURNING id`,
    [uuidv7(), workspaceId, name],
  );
  const row = inserted.rows[0] ?? (await find());
  if (!row) throw new Error(`flow "${name}" was neither inserted nor found`);
  return row.id;
}

/** Creates a flow run (registering its flow by name if needed). */
export async function createFlowRun(db: Db, pool: pg.Pool, workspaceId: string, input: CreateFlowRunInput): Promise<{ id: string; name: string; created: boolean }> {
  const flow = { id: await ensureFlow(pool, workspaceId, input.flowName) };
  if (input.parentTaskRunId) {
    const parent = await db.taskRun.findFirst({ where: { id: input.parentTaskRunId, workspaceId }, select: { id: true } });
    if (!parent) throw new ApiError("NOT_FOUND", `parentTaskRunId: task run ${input.parentTaskRunId} not found`, { path: "parentTaskRunId" });
  }
  let deployment: { id: string; workPoolId: string | null; workQueueId: string | null; currentVersionId: string | null; parameters: unknown; jobVariables: unknown; tags: string[] } | null = null;
  if (input.deploymentId) {
    deployment = await db.deployment.findFirst({
      where: { id: input.deploymentId, workspaceId },
      select: { id: true, workPoolId: true, workQueueId: true, currentVersionId: true, parameters: true, jobVariables: true, tags: true },
    });
    if (!deployment) throw new ApiError("NOT_FOUND", `deploymentId: deployment ${input.deploymentId} not found`, { path: "deploymentId" });
  }
  const now = new Date();
  const state = normalizeState(input.state ?? { type: "SCHEDULED" }, now);
  const scheduledTime = state.details.scheduledTime ? new Date(state.details.scheduledTime) : now;
  const id = uuidv7();
  const name = input.name ?? generateRunName();
  return inTransaction(pool, async (sql) => {
    const inserted = await sql.query<{ id: string; name: string }>(
      `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "deploymentId", "deploymentVersionId", "workPoolId", "workQueueId",
          "parentTaskRunId", "stateType", "stateName", "stateTimestamp", "stateMessage", parameters, "jobVariables", tags,
          "expectedStartTime", "nextScheduledTime", "idempotencyKey", "retryPolicy", "createdAt", "updatedAt")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::"StateType", $11, $12, $13, $14, $15, $16, $17, $17, $18, $19, $20, $20)
       ON CONFLICT ("workspaceId", "flowId", "idempotencyKey") DO NOTHING
       RETURNING id, name`,
      [
        id, workspaceId, flow.id, name, deployment?.id ?? null, deployment?.currentVersionId ?? null, deployment?.workPoolId ?? null, deployment?.workQueueId ?? null,
        input.parentTaskRunId ?? null, state.type, state.name, new Date(state.timestamp), state.message ?? null,
        JSON.stringify({ ...(asObject(deployment?.parameters)), ...(input.parameters ?? {}) }),
        JSON.stringify(input.jobVariables ?? {}),
        [...new Set([...(deployment?.tags ?? []), ...(input.tags ?? [])])],
        scheduledTime, input.idempotencyKey ?? null, JSON.stringify(input.retryPolicy ?? { retries: 0 }), now,
      ],
    );
    const row = inserted.rows[0];
    if (!row) {
      // The idempotency key already names a run: return that one.
      const existing = await sql.query<{ id: string; name: string }>(
        `SELECT id, name FROM "FlowRun" WHERE "workspaceId" = $1 AND "flowId" = $2 AND "idempotencyKey" = $3`,
        [workspaceId, flow.id, input.idempotencyKey],
      );
      const found = existing.rows[0];
      if (!found) throw new ApiError("CONFLICT", "idempotency key conflict");
      return { ...found, created: false };
    }
    await sql.query(
      `INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, details)
       VALUES ($1, $2, $3, $4::"StateType", $5, $6, $7, $8)`,
      [uuidv7(), workspaceId, id, state.type, state.name, new Date(state.timestamp), state.message ?? null, JSON.stringify(state.details)],
    );
    await publish(sql, { kind: "flow_run", workspaceId, flowRunId: id, stateType: state.type, stateName: state.name, workPoolId: deployment?.workPoolId ?? null, deploymentId: deployment?.id ?? null });
    if (state.type === "SCHEDULED" && deployment?.workPoolId) await publish(sql, { kind: "runs_ready", workspaceId, workPoolId: deployment.workPoolId });
    return { ...row, created: true };
  });
}

function asObject(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Requests cancellation: not-yet-started runs end CANCELLED at once, started ones go CANCELLING. */
export async function cancelFlowRun(pool: pg.Pool, workspaceId: string, flowRunId: string): Promise<ProposalOutcome> {
  // Chosen under the lock: a run claimed between a separate read and the proposal must go CANCELLING
  // (so its worker stops the infrastructure), not straight to CANCELLED.
  return proposeFlowRunState(pool, workspaceId, flowRunId, ({ type }) =>
    type === "PENDING" || type === "RUNNING" || type === "PAUSED"
      ? { type: "CANCELLING", message: "cancel requested" }
      : { type: "CANCELLED", message: "cancelled before it started" },
  );
}

/**
 * Re-runs a finished run: a new attempt scheduled now. Only a finished run: the rules accept
 * SCHEDULED from RUNNING or PENDING (a pause hand-back, a released claim), so "retry" there would
 * free a live run for a second worker while the first still runs it.
 */
export async function retryFlowRun(pool: pg.Pool, workspaceId: string, flowRunId: string): Promise<ProposalOutcome> {
  return proposeFlowRunState(pool, workspaceId, flowRunId, ({ type }) =>
    isTerminal(type)
      ? { type: "SCHEDULED", name: "AwaitingRetry", message: "retry requested", details: { retryRequested: true, scheduledTime: new Date().toISOString() } }
      : { abort: `The run is ${type}; only a finished run (COMPLETED, FAILED, CANCELLED, CRASHED) can be retried.` },
  );
}
