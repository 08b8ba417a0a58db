// Every change of a flow run's state goes through here: the pure orchestration rules
// (packages/core) decide, the writes in statements.ts apply the decision to the run's columns and
// history, and the events go out after the commit. Two entry points:
// - proposeFlowRunState: one run, from a client (or a service acting for one). Concurrent
//   proposals are serialised per run, and a repeated transitionId is answered without a second
//   write.
// - proposeForLockedRuns: many runs chosen by a background system (scheduler, liveness, claim
//   release), locked with SKIP LOCKED, each decided by the same rules, written in one statement.
// The claim (claims.ts) is the one state change decided in SQL rather than by the rules: its WHERE
// clause is NoSecondClaim (only SCHEDULED runs are taken), and it writes through stateAssignments.
import {
  normalizeState,
  orchestrate,
  outcomeOf,
  type ProposalOutcome,
  type State,
  type StateInput,
} from "@flowplane/core";
import type pg from "pg";
import { notFound } from "../../errors.ts";
import type { FlowplaneEvent } from "../events.ts";
import type { Resources } from "../resources.ts";
import { inTransaction } from "../sql.ts";
import { fenceRefusal, type Proposer } from "./fence.ts";
import { RUN_COLUMNS, stateOfRow, type RunRow, type VersionedRun } from "./rows.ts";
import { stateWriteStatement, writeFlowRunStates, type VersionedWrite } from "./statements.ts";

/**
 * What to propose; a function chooses under the row lock from the run's current state (or refuses),
 * so requests like cancel and retry never act on a state that changed since they looked.
 */
export type Proposal = StateInput | ((current: State, run: RunRow) => StateInput | { abort: string });

export interface ProposalOptions {
  /** Admin override: every rule but DuplicateTransition and CancelUnheldRuns is skipped. */
  force?: boolean;
  now?: Date;
  /** Who proposes, for claim fencing; omitted for the server's own changes. */
  proposer?: Proposer;
}

/**
 * Proposes a state for a flow run. Returns the decision; writes happen only for ACCEPT and for
 * REJECT decisions that carry a state to store (e.g. AwaitingRetry instead of FAILED).
 *
 * The hot path is optimistic: read the run (no transaction, no lock), decide, and write with one
 * autocommit statement that applies only if the row is still the version we decided on (its
 * `xmin`, which every update changes). That is two round trips and one commit instead of
 * BEGIN, SELECT FOR UPDATE, write and COMMIT, with the same guarantee: a decision is written only
 * against the state it was made from. A write that lost a race decides again from the new state;
 * after a few lost races (a hot row) the proposal takes the row lock instead.
 *
 * The read is skipped when this process wrote the run last (a claim, then RUNNING, then
 * COMPLETED): the row as written is remembered with its version, and the versioned write refuses
 * it if anything changed since. Only writes are decided from remembered rows; an answer that
 * writes nothing (a rejection, a wait) is always decided from a fresh read.
 */
export async function proposeFlowRunState(
  res: Resources,
  workspaceId: string,
  flowRunId: string,
  proposal: Proposal,
  options: ProposalOptions = {},
): Promise<ProposalOutcome> {
  const cache = res.runStates;
  let run = cache.recent.take(workspaceId, flowRunId);
  let remembered = run !== null;
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    run ??= await readFlowRun(res, workspaceId, flowRunId);
    if (!run) throw notFound("flow run", flowRunId);
    const refusal = fenceRefusal(run, options.proposer);
    if (refusal) {
      // A remembered row may be behind another replica's claim: refuse only from a fresh read.
      if (!remembered) throw refusal;
      run = null;
      remembered = false;
      continue;
    }
    const { outcome, write } = decideProposal(run, proposal, options);
    if (!write) {
      if (!remembered) return outcome;
      run = null;
      remembered = false;
      continue;
    }
    const written = write.failedFirst
      ? await writeOne(res.pool, run, write)
      : await cache.writes.submit({ run, state: write.state });
    if (written) {
      cache.recent.remember(written);
      res.publisher.publish(stateEvents(run, write.state));
      return outcome;
    }
    run = null;
    remembered = false;
  }
  const { outcome, events } = await inTransaction(res.pool, async (sql) => {
    const run = await lockFlowRun(sql, workspaceId, flowRunId);
    if (!run) throw notFound("flow run", flowRunId);
    const refusal = fenceRefusal(run, options.proposer);
    if (refusal) throw refusal;
    const { outcome, write } = decideProposal(run, proposal, options);
    if (write) await writeOne(sql, run, write);
    return { outcome, events: write ? stateEvents(run, write.state) : [] };
  });
  res.publisher.publish(events);
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
  run: RunRow,
  proposal: Proposal,
  options: ProposalOptions,
): { outcome: ProposalOutcome; write: ProposalWrite | null } {
  const now = options.now ?? new Date();
  const current = stateOfRow(run);
  const proposed = typeof proposal === "function" ? proposal(current, run) : proposal;
  if ("abort" in proposed)
    return { outcome: { decision: "ABORT", state: current, reason: proposed.abort }, write: null };
  const decision = orchestrate({
    kind: "flow",
    now,
    current,
    proposed,
    run: { runCount: run.runCount, retryPolicy: run.retryPolicy, nextScheduledTime: run.nextScheduledTime },
    force: options.force ?? false,
  });
  const outcome = outcomeOf(decision, current);
  if (decision.status === "ACCEPT") return { outcome, write: { state: decision.state, failedFirst: null } };
  if (decision.status === "REJECT" && decision.write)
    return {
      outcome,
      // A failure turned into a retry stays visible: history shows FAILED/CRASHED, then AwaitingRetry.
      write: {
        state: decision.state,
        failedFirst: decision.rule === "RetryFailedRuns" ? normalizeState(proposed, now) : null,
      },
    };
  return { outcome, write: null };
}

async function writeOne(
  sql: pg.Pool | pg.PoolClient,
  run: VersionedRun,
  write: ProposalWrite,
): Promise<VersionedRun | null> {
  const { rows } = await sql.query<VersionedRun>(
    stateWriteStatement(run, write.state, { failedFirst: write.failedFirst, ifVersion: run.version }),
  );
  return rows[0] ?? null;
}

const LOCK_RUN = `SELECT ${RUN_COLUMNS}, xmin::text AS version FROM "FlowRun" WHERE id = $1 AND "workspaceId" = $2 FOR UPDATE`;

async function lockFlowRun(sql: pg.PoolClient, workspaceId: string, flowRunId: string): Promise<VersionedRun | null> {
  const { rows } = await sql.query<VersionedRun>({
    name: "flowplane_lock_flow_run",
    text: LOCK_RUN,
    values: [flowRunId, workspaceId],
  });
  return rows[0] ?? null;
}

/** The run as of now, with its row version; the reads of one event-loop turn share a statement. */
async function readFlowRun(res: Resources, workspaceId: string, flowRunId: string): Promise<VersionedRun | null> {
  const run = await res.runStates.reads.submit(flowRunId);
  return run && run.workspaceId === workspaceId ? run : null;
}

/**
 * State changes a background system makes to many runs at once. `select` locks the runs it picks
 * (`FOR UPDATE ... SKIP LOCKED`, so replicas sweeping together split the work) and returns the
 * RUN_COLUMNS plus `xmin::text AS version`; each run is decided by the rules like any proposal, and
 * the writes share one statement and one commit. Runs the rules refuse keep their state (say, a
 * run that started between the sweep's choice and its lock is not marked Late). Answers how many
 * runs were written.
 */
export async function proposeForLockedRuns<Row extends VersionedRun = VersionedRun>(
  res: Resources,
  select: pg.QueryConfig,
  proposalFor: (run: Row) => StateInput,
  now = new Date(),
): Promise<number> {
  const { written, events } = await inTransaction(res.pool, async (sql) => {
    const { rows } = await sql.query<Row>(select);
    const batch: VersionedWrite[] = [];
    const singles: { run: VersionedRun; write: ProposalWrite }[] = [];
    for (const run of rows) {
      const { write } = decideProposal(run, proposalFor(run), { now });
      if (!write) continue;
      if (write.failedFirst) singles.push({ run, write });
      else batch.push({ run, state: write.state });
    }
    const results = [
      ...(await writeFlowRunStates(sql, batch)),
      ...(await Promise.all(singles.map(({ run, write }) => writeOne(sql, run, write)))),
    ];
    const states = [...batch.map((b) => b.state), ...singles.map((s) => s.write.state)];
    const runs = [...batch.map((b) => b.run), ...singles.map((s) => s.run)];
    const events: FlowplaneEvent[] = [];
    const written: VersionedRun[] = [];
    results.forEach((row, i) => {
      if (!row) return;
      written.push(row);
      events.push(...stateEvents(runs[i]!, states[i]!));
    });
    return { written, events };
  });
  for (const run of written) res.runStates.recent.remember(run);
  res.publisher.publish(dedupeReady(events));
  return written.length;
}

/** Remembers runs as a claim just wrote them (see RecentRuns). */
export function rememberWrittenRuns(res: Resources, runs: VersionedRun[]): void {
  for (const run of runs) res.runStates.recent.remember(run);
}

type RunRef = Pick<RunRow, "id" | "workspaceId" | "workPoolId" | "deploymentId" | "workerId">;

/** The events a run entering `state` publishes. */
export function stateEvents(run: RunRef, state: Pick<State, "type" | "name">): FlowplaneEvent[] {
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

/** One runs_ready per pool is enough however many of its runs became claimable. */
function dedupeReady(events: FlowplaneEvent[]): FlowplaneEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    if (e.kind !== "runs_ready") return true;
    if (seen.has(e.workPoolId)) return false;
    seen.add(e.workPoolId);
    return true;
  });
}
