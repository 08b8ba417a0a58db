// Creating flow runs: ad-hoc (the SDK, sub-flows), from a deployment (deployments.run) and with an
// idempotency key (a resend returns the run it created).
import { normalizeState, uuidv7, type RetryPolicy, type StateInput } from "@flowplane/core";
import type pg from "pg";
import { ApiError } from "../../errors.ts";
import type { Resources } from "../resources.ts";
import { generateRunName } from "../run-names.ts";
import { stateEvents } from "../run-state/changes.ts";
import { attemptRefusal, type RunAttempt } from "../run-state/fence.ts";

export interface CreateFlowRunInput {
  flowName: string;
  parameters?: Record<string, unknown>;
  tags?: string[];
  parentTaskRunId?: string | null;
  deploymentId?: string | null;
  idempotencyKey?: string | null;
  retryPolicy?: RetryPolicy;
  /** Initial state; defaults to SCHEDULED now. */
  state?: StateInput;
  jobVariables?: Record<string, unknown>;
  name?: string;
}

/**
 * The flow's id, registering the flow on first use. Concurrent first runs of a new flow (a `.map`
 * over a sub-flow, several workers) are common, and Prisma's upsert reads then inserts, so all but
 * one failed on the unique name. ON CONFLICT DO NOTHING cannot fail that way; the loser reads the
 * winner's row in a new statement, whose snapshot sees it.
 */
async function ensureFlow(pool: pg.Pool, workspaceId: string, name: string): Promise<string> {
  const find = async () =>
    (
      await pool.query<{ id: string }>(`SELECT id FROM "Flow" WHERE "workspaceId" = $1 AND name = $2`, [
        workspaceId,
        name,
      ])
    ).rows[0];
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

/**
 * Creates a flow run (registering its flow by name if needed). One autocommit statement finds the
 * flow and the deployment and inserts the run and its first state; its events follow the commit
 * at once, so a worker long-polling the pool is woken the moment the run exists: this is the start
 * of every run's pickup latency, so it is kept to one round trip.
 */
export async function createFlowRun(
  res: Resources,
  workspaceId: string,
  input: CreateFlowRunInput,
  /** A run token's attempt: it creates only sub-flow runs of its own runs, and they join its scope. */
  attempt: RunAttempt | null = null,
): Promise<{ id: string; name: string; created: boolean }> {
  const { prisma: db, pool } = res;
  if (attempt && !input.parentTaskRunId)
    throw new ApiError(
      "FORBIDDEN",
      `parentTaskRunId: a run token creates only sub-flow runs of its own flow run ${attempt.flowRunId} (under one of its task runs)`,
      { path: "parentTaskRunId" },
    );
  if (input.parentTaskRunId) {
    await ensureFlow(pool, workspaceId, input.flowName);
    const parent = await db.taskRun.findFirst({
      where: { id: input.parentTaskRunId, workspaceId },
      select: { id: true, flowRun: { select: { id: true, claimToken: true } } },
    });
    if (!parent)
      throw new ApiError("NOT_FOUND", `parentTaskRunId: task run ${input.parentTaskRunId} not found`, {
        path: "parentTaskRunId",
      });
    const refusal = attempt && attemptRefusal(parent.flowRun, attempt);
    if (refusal) throw refusal;
  }
  const now = new Date();
  const state = normalizeState(input.state ?? { type: "SCHEDULED" }, now);
  const scheduledTime = state.details.scheduledTime ? new Date(state.details.scheduledTime) : now;
  const id = uuidv7();
  const name = input.name ?? generateRunName();
  const values = [
    id,
    workspaceId,
    input.flowName,
    name,
    input.deploymentId ?? null,
    input.parentTaskRunId ?? null,
    state.type,
    state.name,
    new Date(state.timestamp),
    state.message ?? null,
    JSON.stringify(input.parameters ?? {}),
    JSON.stringify(input.jobVariables ?? {}),
    input.tags ?? [],
    scheduledTime,
    input.idempotencyKey ?? null,
    JSON.stringify(input.retryPolicy ?? { retries: 0 }),
    now,
    uuidv7(),
    JSON.stringify(state.details),
    // A sub-flow run of a run token's attempt carries the attempt's claim token (its scope).
    attempt?.claimToken ?? null,
  ];
  for (let round = 0; ; round++) {
    const { rows } = await pool.query<{
      flowFound: boolean;
      deploymentFound: boolean;
      id: string | null;
      name: string | null;
      workPoolId: string | null;
      deploymentId: string | null;
    }>({ name: "flowplane_create_flow_run", text: CREATE_FLOW_RUN, values });
    const result = rows[0]!;
    if (!result.flowFound && round === 0) {
      await ensureFlow(pool, workspaceId, input.flowName);
      continue;
    }
    if (!result.deploymentFound)
      throw new ApiError("NOT_FOUND", `deploymentId: deployment ${input.deploymentId} not found`, {
        path: "deploymentId",
      });
    if (result.id !== null && result.name !== null) {
      res.publisher.publish(
        stateEvents(
          {
            id: result.id,
            workspaceId,
            workPoolId: result.workPoolId,
            deploymentId: result.deploymentId,
            workerId: null,
          },
          state,
        ),
      );
      return { id: result.id, name: result.name, created: true };
    }
    // The idempotency key already names a run: return that one.
    const existing = await pool.query<{ id: string; name: string }>(
      `SELECT fr.id, fr.name FROM "FlowRun" fr JOIN "Flow" f ON f.id = fr."flowId"
        WHERE f."workspaceId" = $1 AND f.name = $2 AND fr."workspaceId" = $1 AND fr."idempotencyKey" = $3`,
      [workspaceId, input.flowName, input.idempotencyKey],
    );
    const found = existing.rows[0];
    if (!found) throw new ApiError("CONFLICT", "idempotency key conflict");
    return { ...found, created: false };
  }
}

/**
 * The run takes the deployment's pool, queue and version, its parameters (the run's own win) and
 * tags (deployment's first, without repeats). Answers one row: whether the flow and the
 * deployment were found, and the run if it was inserted (not when its idempotency key exists).
 */
const CREATE_FLOW_RUN = `WITH f AS (
       SELECT id FROM "Flow" WHERE "workspaceId" = $2 AND name = $3
     ),
     d AS (
       SELECT id, "workPoolId", "workQueueId", "currentVersionId", parameters, tags FROM "Deployment" WHERE id = $5::uuid AND "workspaceId" = $2
     ),
     run AS (
       INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "deploymentId", "deploymentVersionId", "workPoolId", "workQueueId",
          "parentTaskRunId", "stateType", "stateName", "stateTimestamp", "stateMessage", parameters, "jobVariables", tags,
          "expectedStartTime", "nextScheduledTime", "idempotencyKey", "retryPolicy", "createdAt", "updatedAt", "claimToken")
       SELECT $1, $2, f.id, $4, d.id, d."currentVersionId", d."workPoolId", d."workQueueId",
              $6, $7::"StateType", $8, $9, $10,
              (CASE WHEN jsonb_typeof(d.parameters) = 'object' THEN d.parameters ELSE '{}'::jsonb END) || $11::jsonb,
              $12::jsonb,
              ARRAY(SELECT t FROM unnest(COALESCE(d.tags, '{}'::text[]) || $13::text[]) WITH ORDINALITY AS u(t, n) GROUP BY t ORDER BY min(n)),
              $14, $14, $15, $16::jsonb, $17, $17, $20::uuid
         FROM f LEFT JOIN d ON true
        WHERE $5::uuid IS NULL OR d.id IS NOT NULL
       ON CONFLICT ("workspaceId", "flowId", "idempotencyKey") DO NOTHING
       RETURNING id, name, "workPoolId", "deploymentId"
     ),
     history AS (
       INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, details)
       SELECT $18, $2, run.id, $7::"StateType", $8, $9, $10, $19::jsonb FROM run
     )
     SELECT EXISTS (SELECT 1 FROM f) AS "flowFound", ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM d)) AS "deploymentFound",
            run.id, run.name, run."workPoolId", run."deploymentId"
       FROM (SELECT 1) AS one LEFT JOIN run ON true`;
