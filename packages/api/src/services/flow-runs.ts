// Flow runs: creation, reads, and state proposals. A proposal reads the run, asks the pure
// orchestration rules (packages/core) for a decision, and writes the resulting state into the
// history and onto the run in one statement that applies only if the run is still the row version
// the decision was made from (else it decides again; a hot row falls back to a row lock). So
// concurrent proposals are serialised per run and a repeated transitionId is answered without a
// second write.
import {
  isTerminal,
  normalizeState,
  orchestrate,
  type OrchestrationDecision,
  type RetryPolicy,
  type State,
  type StateInput,
  type StateType,
  uuidv7,
} from "@flowplane/core";
import type { Db } from "@flowplane/db";
import type pg from "pg";
import { ApiError, notFound } from "../errors.ts";
import { EVENTS_CHANNEL, type FlowplaneEvent } from "./events.ts";
import { Coalescer } from "./coalescer.ts";
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

export function stateOfRow(
  row: Pick<LockedRun, "stateType" | "stateName" | "stateTimestamp" | "stateMessage" | "stateTransitionId">,
): State {
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
 *
 * The hot path is optimistic: read the run (no transaction, no lock), decide, and write with one
 * autocommit statement that applies only if the row is still the version we decided on (its
 * `xmin`, which every update changes). That is two round trips and one commit instead of
 * BEGIN, SELECT FOR UPDATE, write, NOTIFY and COMMIT, with the same guarantee: a decision is
 * written only against the state it was made from. A write that lost a race decides again from the
 * new state; after a few lost races (a hot row) the proposal takes the row lock instead.
 *
 * The read is skipped when this process wrote the run last (a claim, then RUNNING, then
 * COMPLETED): the row as written is remembered with its version, and the versioned write refuses
 * it if anything changed since. Only writes are decided from remembered rows; an answer that
 * writes nothing (a rejection, a wait) is always decided from a fresh read.
 */
export async function proposeFlowRunState(
  pool: pg.Pool,
  workspaceId: string,
  flowRunId: string,
  proposal: Proposal,
  options: { force?: boolean; now?: Date } = {},
): Promise<ProposalOutcome> {
  const recent = hotPathOf(pool).recent;
  let run = recent.take(workspaceId, flowRunId);
  let remembered = run !== null;
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    run ??= await readFlowRun(pool, workspaceId, flowRunId);
    if (!run) throw notFound("flow run", flowRunId);
    const { outcome, write } = decideProposal(run, proposal, options);
    if (!write) {
      if (!remembered) return outcome;
      run = null;
      remembered = false;
      continue;
    }
    const written = await writeFlowRunStateIfUnchanged(pool, run, write.state, write.failedFirst);
    if (written) {
      recent.remember(written);
      publishAfterCommit(pool, stateEvents(run, write.state));
      return outcome;
    }
    run = null;
    remembered = false;
  }
  const { outcome, written } = await inTransaction(pool, async (sql) => {
    const run = await lockFlowRun(sql, workspaceId, flowRunId);
    if (!run) throw notFound("flow run", flowRunId);
    const { outcome, write } = decideProposal(run, proposal, options);
    if (write)
      await sql.query(stateWriteStatement(run, write.state, { failedFirst: write.failedFirst, notify: false }));
    return { outcome, written: write ? stateEvents(run, write.state) : [] };
  });
  publishAfterCommit(pool, written);
  return outcome;
}

/** Optimistic tries before a proposal falls back to locking the row. */
const OPTIMISTIC_ATTEMPTS = 4;

interface ProposalWrite {
  state: State;
  /** RetryFailedRuns: the proposed FAILED/CRASHED goes into the history before AwaitingRetry. */
  failedFirst: State | null;
}

/** The pure part of a proposal: what to answer and what (if anything) to write. */
function decideProposal(
  run: LockedRun,
  proposal: Proposal,
  options: { force?: boolean; now?: Date },
): { outcome: ProposalOutcome; write: ProposalWrite | null } {
  const now = options.now ?? new Date();
  const proposed = typeof proposal === "function" ? proposal(stateOfRow(run)) : proposal;
  if ("abort" in proposed)
    return { outcome: { decision: "ABORT", state: stateOfRow(run), reason: proposed.abort }, write: null };
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
      return {
        outcome: { decision: "ACCEPT", state: decision.state },
        write: { state: decision.state, failedFirst: null },
      };
    case "REJECT":
      return {
        outcome: { decision: "REJECT", state: decision.state, reason: decision.reason },
        // A failure turned into a retry stays visible: history shows FAILED/CRASHED, then AwaitingRetry.
        write: decision.write
          ? {
              state: decision.state,
              failedFirst: decision.rule === "RetryFailedRuns" ? normalizeState(proposed, now) : null,
            }
          : null,
      };
    case "WAIT":
      return {
        outcome: {
          decision: "WAIT",
          state: stateOfRow(run),
          reason: decision.reason,
          delaySeconds: decision.delaySeconds,
        },
        write: null,
      };
    case "ABORT":
      return { outcome: { decision: "ABORT", state: stateOfRow(run), reason: decision.reason }, write: null };
    default: {
      const unreachable: never = decision;
      return unreachable;
    }
  }
}

const RUN_COLUMNS = `id, "workspaceId", "stateType", "stateName", "stateTimestamp", "stateMessage", "stateTransitionId",
            "runCount", "retryPolicy", "nextScheduledTime", "workPoolId", "deploymentId", "workerId"`;

async function lockFlowRun(sql: Sql, workspaceId: string, flowRunId: string): Promise<LockedRun | null> {
  const { rows } = await sql.query<LockedRun>({
    name: "flowplane_lock_flow_run",
    text: `SELECT ${RUN_COLUMNS} FROM "FlowRun" WHERE id = $1 AND "workspaceId" = $2 FOR UPDATE`,
    values: [flowRunId, workspaceId],
  });
  return rows[0] ?? null;
}

/** The run as of now, with its row version (`xmin`) for writeFlowRunStateIfUnchanged. */
async function readFlowRun(pool: pg.Pool, workspaceId: string, flowRunId: string): Promise<VersionedRun | null> {
  const run = await hotPathOf(pool).reads.submit(flowRunId);
  return run && run.workspaceId === workspaceId ? run : null;
}

/** Reads the runs of one event-loop turn's proposals with one statement. */
async function readFlowRuns(pool: pg.Pool, ids: string[]): Promise<(VersionedRun | null)[]> {
  const { rows } = await pool.query<VersionedRun>({
    name: "flowplane_read_flow_runs",
    text: `SELECT ${RUN_COLUMNS}, xmin::text AS version FROM "FlowRun" WHERE id = ANY($1::uuid[])`,
    values: [ids],
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id) ?? null);
}

/**
 * Writes `state` if the run row is still at `run.version`: the row as written, or null if it
 * changed meanwhile. The writes of one event-loop turn share one statement (writeFlowRunStates).
 */
async function writeFlowRunStateIfUnchanged(
  pool: pg.Pool,
  run: VersionedRun,
  state: State,
  failedFirst: State | null,
): Promise<VersionedRun | null> {
  if (!failedFirst) return hotPathOf(pool).writes.submit({ run, state });
  const { rows } = await pool.query<VersionedRun>(
    stateWriteStatement(run, state, { failedFirst, ifVersion: run.version, notify: false }),
  );
  return rows[0] ?? null;
}

interface VersionedWrite {
  run: VersionedRun;
  state: State;
}

/**
 * stateWriteStatement for many runs at once, each applied only if its row is still at the version
 * it was decided from: one UPDATE over the rows, one INSERT of their history, one commit. Answers
 * the rows as written, in the writes' order (null where the row had changed).
 */
async function writeFlowRunStates(pool: pg.Pool, writes: VersionedWrite[]): Promise<(VersionedRun | null)[]> {
  if (writes.length === 1) {
    const { run, state } = writes[0]!;
    const { rows } = await pool.query<VersionedRun>(
      stateWriteStatement(run, state, { ifVersion: run.version, notify: false }),
    );
    return [rows[0] ?? null];
  }
  const column = <T>(pick: (w: VersionedWrite) => T) => writes.map(pick);
  const { rows } = await pool.query<VersionedRun>({
    name: "flowplane_write_flow_run_states",
    text: `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::"StateType"[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::jsonb[], $9::timestamptz[], $10::text[])
         AS i(state_id, run_id, type, name, ts, message, transition_id, details, scheduled_time, version)
     ),
     updated AS (
       UPDATE "FlowRun" fr SET ${stateAssignments({ type: "i.type", name: "i.name", ts: "i.ts", message: "i.message", transitionId: "i.transition_id", terminal: `i.type IN ${TERMINAL_SQL}`, scheduledTime: "i.scheduled_time" })}
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

const TERMINAL_SQL = "('COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED')";

/**
 * The SET list that makes a state the run's current one (for `UPDATE "FlowRun" fr`), from SQL
 * expressions for the state's fields, shared by the one-run and the many-run writes. Entering
 * RUNNING counts an attempt and starts the heartbeat clock; SCHEDULED (a retry or a reschedule)
 * releases the worker so another claim can pick the run up; terminal states stop the clock.
 */
function stateAssignments(e: {
  type: string;
  name: string;
  ts: string;
  message: string;
  transitionId: string;
  terminal: string;
  scheduledTime: string;
}): string {
  return `"stateType" = ${e.type}, "stateName" = ${e.name}, "stateTimestamp" = ${e.ts}, "stateMessage" = ${e.message}, "stateTransitionId" = ${e.transitionId},
         "runCount" = fr."runCount" + CASE WHEN ${e.type} = 'RUNNING' THEN 1 ELSE 0 END,
         "startTime" = CASE WHEN ${e.type} = 'RUNNING' THEN COALESCE(fr."startTime", ${e.ts}) ELSE fr."startTime" END,
         "endTime" = CASE WHEN ${e.terminal} THEN ${e.ts} WHEN ${e.type} = 'RUNNING' THEN NULL ELSE fr."endTime" END,
         "heartbeatAt" = CASE WHEN ${e.type} = 'RUNNING' THEN ${e.ts} WHEN ${e.terminal} THEN NULL ELSE fr."heartbeatAt" END,
         "claimExpiresAt" = CASE WHEN ${e.type} = 'PENDING' THEN fr."claimExpiresAt" ELSE NULL END,
         "nextScheduledTime" = CASE WHEN ${e.type} = 'SCHEDULED' THEN COALESCE(${e.scheduledTime}, fr."nextScheduledTime", ${e.ts}) ELSE fr."nextScheduledTime" END,
         "workerId" = CASE WHEN ${e.type} = 'SCHEDULED' THEN NULL ELSE fr."workerId" END,
         "updatedAt" = ${e.ts}`;
}

/**
 * What the hot path keeps per pool (so per database): the runs this process wrote last, and the
 * coalescers that turn one event-loop turn's reads and writes into one statement each.
 */
interface HotPath {
  recent: RecentRuns;
  reads: Coalescer<string, VersionedRun | null>;
  writes: Coalescer<VersionedWrite, VersionedRun | null>;
}

const hotPaths = new WeakMap<pg.Pool, HotPath>();

function hotPathOf(pool: pg.Pool): HotPath {
  let hot = hotPaths.get(pool);
  if (!hot) {
    hot = {
      recent: new RecentRuns(),
      reads: new Coalescer((ids) => readFlowRuns(pool, ids)),
      writes: new Coalescer((writes) => writeFlowRunStates(pool, writes), { keyOf: (w) => w.run.id }),
    };
    hotPaths.set(pool, hot);
  }
  return hot;
}

/** A run row with its version (xmin) at the time it was read or written. */
export type VersionedRun = LockedRun & { version: string };

/**
 * Runs this process wrote last, as written (per pool, so per database), so the next proposal for
 * the run can skip its read. Bounded; a finished run is forgotten, as is any entry a proposal
 * takes (it is put back only by that proposal's successful write).
 */
class RecentRuns {
  private readonly runs = new Map<string, VersionedRun>();
  constructor(private readonly max = 10_000) {}

  take(workspaceId: string, flowRunId: string): VersionedRun | null {
    const key = `${workspaceId}/${flowRunId}`;
    const run = this.runs.get(key) ?? null;
    if (run) this.runs.delete(key);
    return run;
  }

  remember(run: VersionedRun): void {
    const key = `${run.workspaceId}/${run.id}`;
    this.runs.delete(key);
    if (isTerminal(run.stateType)) return;
    this.runs.set(key, run);
    if (this.runs.size > this.max) this.runs.delete(this.runs.keys().next().value!);
  }
}

/** Remembers runs as a claim just wrote them (see RecentRuns). */
export function rememberWrittenRuns(pool: pg.Pool, runs: VersionedRun[]): void {
  const recent = hotPathOf(pool).recent;
  for (const run of runs) recent.remember(run);
}

type RunRef = Pick<LockedRun, "id" | "workspaceId" | "workPoolId" | "deploymentId" | "workerId">;

/** The events a run entering `state` publishes. */
function stateEvents(run: RunRef, state: State): FlowplaneEvent[] {
  const events: FlowplaneEvent[] = [
    {
      kind: "flow_run",
      workspaceId: run.workspaceId,
      flowRunId: run.id,
      stateType: state.type,
      stateName: state.name,
      workPoolId: run.workPoolId,
      deploymentId: run.deploymentId,
    },
  ];
  if (state.type === "SCHEDULED" && run.workPoolId)
    events.push({ kind: "runs_ready", workspaceId: run.workspaceId, workPoolId: run.workPoolId });
  if (state.type === "CANCELLING")
    events.push({ kind: "cancel_requested", workspaceId: run.workspaceId, flowRunId: run.id, workerId: run.workerId });
  return events;
}

/**
 * Sends events for changes that have already committed. NOTIFY inside a writing transaction holds
 * PostgreSQL's global notify lock across that transaction's commit (its WAL flush), so every
 * notifying commit in the database waits for the previous one's fsync: on the hot paths (claims,
 * proposals) that serialised all commits. Sent after the commit instead, from a transaction that
 * writes nothing (no WAL flush), the lock is held for microseconds, and the events of concurrent
 * requests go out together in one statement. Events are hints (subscribers refetch; long-polls also
 * wake on their timeout), so the guarantee that matters is kept: an event is only sent for a change
 * that committed. Callers do not wait for the send (it follows within an event-loop turn), and a
 * failed send is not their failure: their change committed, only hints are lost.
 */
export function publishAfterCommit(pool: pg.Pool, events: FlowplaneEvent[]): void {
  if (events.length === 0) return;
  let notifier = notifiers.get(pool);
  if (!notifier) notifiers.set(pool, (notifier = new AfterCommitNotifier(pool)));
  notifier.publish(events.map((e) => JSON.stringify(e)));
}

const notifiers = new WeakMap<pg.Pool, AfterCommitNotifier>();

/**
 * Batches events per pool: they wait for the current event-loop turn to end (so the events of all
 * requests finishing together share one statement), and one statement is in flight at a time, so
 * events go out in the order they were published.
 */
class AfterCommitNotifier {
  private pending: string[] = [];
  private scheduled = false;
  private sending = false;

  constructor(private readonly pool: pg.Pool) {}

  publish(payloads: string[]): void {
    this.pending.push(...payloads);
    if (!this.scheduled && !this.sending) {
      this.scheduled = true;
      setImmediate(() => void this.pump());
    }
  }

  private async pump(): Promise<void> {
    this.scheduled = false;
    this.sending = true;
    while (this.pending.length > 0) {
      const payloads = packEvents(this.pending);
      this.pending = [];
      try {
        await this.pool.query({
          name: "flowplane_notify_batch",
          text: `SELECT pg_notify('${EVENTS_CHANNEL}', p) FROM unnest($1::text[]) WITH ORDINALITY AS e(p, n) ORDER BY n`,
          values: [payloads],
        });
      } catch {
        // The changes committed; only their hints are lost (the pool reports connection errors).
      }
    }
    this.sending = false;
  }
}

/**
 * Events packed as JSON arrays into as few notifications as fit PostgreSQL's payload limit (8,000
 * bytes): each notification is queued, signalled and parsed on every replica, so a busy server
 * sends one per few dozen events rather than one each. EventBus unpacks them.
 */
function packEvents(payloads: string[]): string[] {
  const packed: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const p of payloads) {
    const bytes = Buffer.byteLength(p) + 1;
    if (current.length > 0 && size + bytes > NOTIFY_PAYLOAD_BYTES) {
      packed.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(p);
    size += bytes;
  }
  if (current.length > 0) packed.push(`[${current.join(",")}]`);
  return packed;
}

/** Under PostgreSQL's 8,000-byte NOTIFY payload limit, with room to spare. */
const NOTIFY_PAYLOAD_BYTES = 7_000;

/**
 * One statement that stores `state` as the run's current state, appends it to the history (after
 * `failedFirst`, if given) and, unless `notify` is false, publishes the events (PostgreSQL delivers
 * them on commit). With `ifVersion` it does all of that only if the row's xmin still equals it.
 * It answers the row as written (with its new version), or no row if it wrote nothing. The run's
 * columns change as stateAssignments says.
 */
function stateWriteStatement(
  run: RunRef,
  state: State,
  options: { failedFirst?: State | null; ifVersion?: string; notify?: boolean } = {},
): pg.QueryConfig {
  const scheduledTime = state.details.scheduledTime ? new Date(state.details.scheduledTime) : null;
  const terminal =
    state.type === "COMPLETED" || state.type === "FAILED" || state.type === "CANCELLED" || state.type === "CRASHED";
  const events = options.notify === false ? [] : stateEvents(run, state);
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
    terminal,
    scheduledTime,
  ];
  const param = (v: unknown) => `$${values.push(v)}`;
  // Named (prepared) per shape, so the hot shapes are planned once per connection.
  const shape = [options.ifVersion !== undefined ? "v" : "", options.failedFirst ? "f" : "", events.length].join("");
  const versionCheck = options.ifVersion !== undefined ? ` AND xmin = ${param(options.ifVersion)}::text::xid` : "";
  const failed = options.failedFirst;
  const failedHistory = failed
    ? `, failed AS (
       INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, details)
       SELECT ${param(uuidv7())}, $2, $3, ${param(failed.type)}::"StateType", ${param(failed.name)}, ${param(new Date(failed.timestamp))}, ${param(failed.message ?? null)}, ${param(JSON.stringify(failed.details ?? {}))}
         FROM updated
     )`
    : "";
  // The history ids are uuidv7, so the FAILED row (generated first) sorts before AwaitingRetry.
  if (failed) values[0] = uuidv7();
  const notifies =
    events.length > 0
      ? events.map((e) => `pg_notify('${EVENTS_CHANNEL}', ${param(JSON.stringify(e))})`).join(", ")
      : "1 AS written";
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
     SELECT ${notifies}, updated.* FROM updated`,
    values,
  };
}

/**
 * Stores `state` as the run's current state and appends it to the history, publishing its events
 * (delivered when `sql`'s transaction commits). For callers that hold the run's row lock.
 */
export async function writeFlowRunState(sql: Sql, run: RunRef, state: State): Promise<void> {
  await sql.query(stateWriteStatement(run, state));
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
 * flow and the deployment, inserts the run and its first state and publishes its events, so a
 * worker long-polling the pool is woken the moment the run commits: this is the start of every
 * run's pickup latency, so it is kept to one round trip.
 */
export async function createFlowRun(
  db: Db,
  pool: pg.Pool,
  workspaceId: string,
  input: CreateFlowRunInput,
): Promise<{ id: string; name: string; created: boolean }> {
  if (input.parentTaskRunId) {
    await ensureFlow(pool, workspaceId, input.flowName);
    const parent = await db.taskRun.findFirst({
      where: { id: input.parentTaskRunId, workspaceId },
      select: { id: true },
    });
    if (!parent)
      throw new ApiError("NOT_FOUND", `parentTaskRunId: task run ${input.parentTaskRunId} not found`, {
        path: "parentTaskRunId",
      });
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
  ];
  for (let attempt = 0; ; attempt++) {
    const { rows } = await pool.query<{
      flowFound: boolean;
      deploymentFound: boolean;
      id: string | null;
      name: string | null;
    }>({ name: "flowplane_create_flow_run", text: CREATE_FLOW_RUN, values });
    const result = rows[0]!;
    if (!result.flowFound && attempt === 0) {
      await ensureFlow(pool, workspaceId, input.flowName);
      continue;
    }
    if (!result.deploymentFound)
      throw new ApiError("NOT_FOUND", `deploymentId: deployment ${input.deploymentId} not found`, {
        path: "deploymentId",
      });
    if (result.id !== null && result.name !== null) return { id: result.id, name: result.name, created: true };
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
 * The events mirror FlowplaneEvent "flow_run" and "runs_ready".
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
          "expectedStartTime", "nextScheduledTime", "idempotencyKey", "retryPolicy", "createdAt", "updatedAt")
       SELECT $1, $2, f.id, $4, d.id, d."currentVersionId", d."workPoolId", d."workQueueId",
              $6, $7::"StateType", $8, $9, $10,
              (CASE WHEN jsonb_typeof(d.parameters) = 'object' THEN d.parameters ELSE '{}'::jsonb END) || $11::jsonb,
              $12::jsonb,
              ARRAY(SELECT t FROM unnest(COALESCE(d.tags, '{}'::text[]) || $13::text[]) WITH ORDINALITY AS u(t, n) GROUP BY t ORDER BY min(n)),
              $14, $14, $15, $16::jsonb, $17, $17
         FROM f LEFT JOIN d ON true
        WHERE $5::uuid IS NULL OR d.id IS NOT NULL
       ON CONFLICT ("workspaceId", "flowId", "idempotencyKey") DO NOTHING
       RETURNING id, name, "workPoolId", "deploymentId"
     ),
     history AS (
       INSERT INTO "State" (id, "workspaceId", "flowRunId", type, name, timestamp, message, details)
       SELECT $18, $2, run.id, $7::"StateType", $8, $9, $10, $19::jsonb FROM run
     ),
     announced AS (
       SELECT run.id, run.name,
              pg_notify('${EVENTS_CHANNEL}', json_build_object('kind', 'flow_run', 'workspaceId', $2::text, 'flowRunId', run.id, 'stateType', $7::text,
                'stateName', $8::text, 'workPoolId', run."workPoolId", 'deploymentId', run."deploymentId")::text) AS run_event,
              CASE WHEN $7::text = 'SCHEDULED' AND run."workPoolId" IS NOT NULL
                   THEN pg_notify('${EVENTS_CHANNEL}', json_build_object('kind', 'runs_ready', 'workspaceId', $2::text, 'workPoolId', run."workPoolId")::text) END AS ready_event
         FROM run
     )
     SELECT EXISTS (SELECT 1 FROM f) AS "flowFound", ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM d)) AS "deploymentFound", announced.id, announced.name
       FROM (SELECT 1) AS one LEFT JOIN announced ON true`;

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
      ? {
          type: "SCHEDULED",
          name: "AwaitingRetry",
          message: "retry requested",
          details: { retryRequested: true, scheduledTime: new Date().toISOString() },
        }
      : { abort: `The run is ${type}; only a finished run (COMPLETED, FAILED, CANCELLED, CRASHED) can be retried.` },
  );
}
