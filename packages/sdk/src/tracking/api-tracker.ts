// Records runs in the control plane. Flow-run creation and flow-run state proposals are awaited
// (the server's answer steers the run); task runs, their states, logs and artifacts are buffered
// and sent in batches by one background sender, off the run's critical path.
//
// A server outage must neither fail the run nor lose its records: every call is retried with
// backoff, proposals carry a transitionId so a retried proposal is applied once, batches carry
// client-made ids so a re-sent batch is stored once, and the buffer is bounded (logs are dropped
// first, oldest first, and the drop is reported) so a long outage cannot exhaust memory.
import type { StateInput } from "@flowplane/core";
import { apiErrorInfo, type ApiClient } from "@flowplane/client";
import { DEFAULT_STATE_NAMES, uuidv7, type IngestTaskRun, type IngestTaskRunState } from "@flowplane/core";
import { envRunHeartbeatMs } from "../env.ts";
import type {
  ArtifactRecord,
  FlowRunInfo,
  FlowRunStart,
  LogRecord,
  ProposalResult,
  TaskRunRecord,
  Tracker,
} from "./tracker.ts";

export interface ApiTrackerOptions {
  /** How long buffered records may wait before a batch is sent. */
  flushIntervalMs?: number;
  /** Records per request. */
  maxBatch?: number;
  /** Records held while the server is unreachable. */
  maxBuffered?: number;
  /** How long an awaited call (create, propose, final flush) keeps retrying through an outage. */
  outageToleranceMs?: number;
  /** How often a running flow run heartbeats. */
  heartbeatIntervalMs?: number;
  /**
   * Called once when the server says this attempt no longer holds its run (the runner exits). The
   * attempt is the run token's (FLOWPLANE_RUN_TOKEN): the server fences every write it makes.
   */
  onSuperseded?: (message: string) => void;
  warn?: (message: string) => void;
}

type Pending =
  | { kind: "taskRun"; row: TaskRunRecord }
  | { kind: "state"; row: IngestTaskRunState }
  | { kind: "log"; row: LogRecord }
  | { kind: "artifact"; row: ArtifactRecord & { id: string } };

export class ApiTracker implements Tracker {
  private queue: Pending[] = [];
  private sending: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private droppedLogs = 0;
  private readonly heartbeats = new Map<string, NodeJS.Timeout>();
  private readonly opts: Required<Omit<ApiTrackerOptions, "warn" | "onSuperseded">> & {
    warn: (m: string) => void;
  };
  private readonly onSuperseded: ApiTrackerOptions["onSuperseded"];
  private superseded = false;

  constructor(
    private readonly api: ApiClient,
    options: ApiTrackerOptions = {},
  ) {
    this.opts = {
      flushIntervalMs: options.flushIntervalMs ?? 100,
      maxBatch: options.maxBatch ?? 2_000,
      maxBuffered: options.maxBuffered ?? 200_000,
      outageToleranceMs: options.outageToleranceMs ?? 10 * 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? envRunHeartbeatMs(),
      warn: options.warn ?? ((m) => process.stderr.write(`flowplane: ${m}\n`)),
    };
    this.onSuperseded = options.onSuperseded;
  }

  /** A write was refused because another attempt holds the run now: stop driving it. */
  private noteSuperseded(flowRunId: string, err: unknown): void {
    const e = apiErrorInfo(err);
    if (e.code !== "CLAIM_SUPERSEDED" || this.superseded) return;
    this.superseded = true;
    this.stopHeartbeat(flowRunId);
    this.onSuperseded?.(e.message);
  }

  async startFlowRun(start: FlowRunStart): Promise<FlowRunInfo> {
    if (start.flowRunId) {
      const id = start.flowRunId;
      const [run] = await Promise.all([
        this.withRetry("load flow run", () => this.api.flowRuns.get.query({ id })),
        // The code being run decides its retries; the server needs them to retry crashes it detects.
        this.withRetry("declare the retry policy", () =>
          this.api.flowRuns.setRetryPolicy.mutate({
            id,
            retryPolicy: start.retryPolicy as { retries: number },
          }),
        ).catch((err: unknown) => {
          this.noteSuperseded(id, err);
          throw err;
        }),
      ]);
      return info(run);
    }
    // A sub-flow's run points at its parent task run, which must reach the server first.
    if (start.parentTaskRunId) await this.flush();
    const idempotencyKey = `sdk:${uuidv7()}`;
    const run = await this.withRetry("create flow run", () =>
      this.api.flowRuns.create.mutate({
        flowName: start.flowName,
        parameters: start.parameters,
        tags: start.tags,
        idempotencyKey,
        ...(start.flowRunName !== undefined ? { name: start.flowRunName } : {}),
        retryPolicy: start.retryPolicy as { retries: number },
        ...(start.parentTaskRunId ? { parentTaskRunId: start.parentTaskRunId } : {}),
      }),
    );
    return info(run);
  }

  async proposeFlowRunState(flowRunId: string, state: StateInput): Promise<ProposalResult> {
    const proposal = { ...state, transitionId: state.transitionId ?? uuidv7() };
    // Task records go first, so the history shows the run's tasks before its final state.
    if (proposal.type !== "RUNNING") await this.flush();
    const outcome = await this.withRetry(`report ${proposal.type}`, () =>
      this.api.flowRuns.setState.mutate({ id: flowRunId, state: proposal }),
    ).catch((err: unknown) => {
      this.noteSuperseded(flowRunId, err);
      throw err;
    });
    const s = { ...outcome.state, details: outcome.state.details ?? {} };
    // A retried proposal that the server had already applied comes back as a duplicate: same outcome.
    const appliedEarlier =
      outcome.decision === "REJECT" &&
      outcome.state.transitionId === proposal.transitionId &&
      outcome.state.type === proposal.type;
    const result: ProposalResult =
      outcome.decision === "ACCEPT" || appliedEarlier
        ? { status: "ACCEPT", state: s }
        : outcome.decision === "REJECT"
          ? { status: "REJECT", state: s, reason: outcome.reason ?? "rejected" }
          : outcome.decision === "WAIT"
            ? { status: "WAIT", delaySeconds: outcome.delaySeconds ?? 1, reason: outcome.reason ?? "wait" }
            : { status: "ABORT", reason: outcome.reason ?? "aborted" };
    if (result.status === "ACCEPT" && result.state.type === "RUNNING") this.startHeartbeat(flowRunId);
    else if (result.status !== "WAIT") this.stopHeartbeat(flowRunId);
    return result;
  }

  recordTaskRun(taskRun: TaskRunRecord): void {
    this.enqueue({ kind: "taskRun", row: taskRun });
  }

  recordTaskRunState(taskRunId: string, state: StateInput): void {
    this.enqueue({
      kind: "state",
      row: {
        id: uuidv7(),
        taskRunId,
        type: state.type,
        name: state.name || DEFAULT_STATE_NAMES[state.type] || state.type,
        timestamp: state.timestamp ?? new Date().toISOString(),
        message: state.message ?? null,
        details: (state.details ?? {}) as Record<string, unknown>,
      },
    });
  }

  log(line: LogRecord): void {
    this.enqueue({ kind: "log", row: line });
  }

  artifact(artifact: ArtifactRecord): void {
    // Keep the id createXArtifact() returned to the caller.
    this.enqueue({ kind: "artifact", row: { ...artifact, id: artifact.id ?? uuidv7() } });
  }

  async flush(): Promise<void> {
    const deadline = Date.now() + this.opts.outageToleranceMs;
    while (this.queue.length > 0 || this.sending) {
      if (this.sending) await this.sending;
      else await this.send();
      if (Date.now() > deadline && this.queue.length > 0) {
        this.opts.warn(
          `gave up sending ${this.queue.length} records after ${Math.round(this.opts.outageToleranceMs / 1000)} s`,
        );
        this.queue = [];
      }
    }
    if (this.droppedLogs > 0) {
      this.opts.warn(`${this.droppedLogs} log lines were dropped while the API was unreachable`);
      this.droppedLogs = 0;
    }
  }

  /** Stops heartbeats and timers; call after the final flush. */
  close(): void {
    for (const id of [...this.heartbeats.keys()]) this.stopHeartbeat(id);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private enqueue(item: Pending): void {
    this.queue.push(item);
    if (this.queue.length > this.opts.maxBuffered) this.shed();
    if (this.queue.length >= this.opts.maxBatch) void this.kick();
    else this.timer ??= setTimeout(() => void this.kick(), this.opts.flushIntervalMs);
  }

  /** Over the bound: drop the oldest log lines (states and task runs are kept). */
  private shed(): void {
    const excess = this.queue.length - this.opts.maxBuffered;
    let dropped = 0;
    this.queue = this.queue.filter((p) => {
      if (dropped < excess && p.kind === "log") {
        dropped++;
        return false;
      }
      return true;
    });
    this.droppedLogs += dropped;
  }

  private async kick(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.sending) return;
    await this.send();
  }

  /**
   * Sends queued records batch by batch; on an outage keeps them and retries later. The server
   * refuses bad records one by one (`rejected`); should it refuse a whole batch (too large, or a
   * server that validates batches whole), the batch is halved until the refusal is down to the one
   * record that causes it, so one bad record never costs the others.
   */
  private send(): Promise<void> {
    this.sending = (async () => {
      let backoffMs = 200;
      let size = this.opts.maxBatch;
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, size);
        try {
          const result = await this.api.ingest.batch.mutate(
            toPayload(batch) as Parameters<ApiClient["ingest"]["batch"]["mutate"]>[0],
          );
          this.queue.splice(0, batch.length);
          for (const rejection of result.rejected) this.opts.warn(`the API refused a record: ${rejection.message}`);
          backoffMs = 200;
          size = this.opts.maxBatch;
        } catch (err) {
          const e = apiErrorInfo(err);
          if (!transient(e)) {
            if (batch.length > 1) {
              size = Math.ceil(batch.length / 2);
              continue;
            }
            // This one record is refused whatever we do: drop it alone and go on with the rest.
            this.opts.warn(`the API refused a record: ${e.message}`);
            this.queue.splice(0, 1);
            continue;
          }
          await sleep(e.retryAfterMs ?? backoffMs);
          backoffMs = Math.min(backoffMs * 2, 5_000);
        }
      }
    })().finally(() => {
      this.sending = null;
    });
    return this.sending;
  }

  private async withRetry<T>(what: string, call: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.opts.outageToleranceMs;
    let backoffMs = 200;
    let warned = false;
    for (;;) {
      try {
        return await call();
      } catch (err) {
        const e = apiErrorInfo(err);
        if (!transient(e) || Date.now() > deadline) throw err;
        if (!warned) {
          this.opts.warn(`cannot ${what} (${e.message}); retrying until the API is back`);
          warned = true;
        }
        await sleep(e.retryAfterMs ?? backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  }

  private startHeartbeat(flowRunId: string): void {
    if (this.heartbeats.has(flowRunId)) return;
    const timer = setInterval(() => {
      this.api.flowRuns.heartbeat.mutate({ id: flowRunId }).catch((err: unknown) => {
        // A missed heartbeat is harmless (the server only acts after several); a refused one means
        // another attempt holds the run.
        this.noteSuperseded(flowRunId, err);
      });
    }, this.opts.heartbeatIntervalMs);
    timer.unref();
    this.heartbeats.set(flowRunId, timer);
  }

  private stopHeartbeat(flowRunId: string): void {
    const timer = this.heartbeats.get(flowRunId);
    if (timer) clearInterval(timer);
    this.heartbeats.delete(flowRunId);
  }
}

/** One ingest request's body from a slice of the queue, kept in queue order within each kind. */
function toPayload(batch: Pending[]) {
  const payload = {
    taskRuns: [] as IngestTaskRun[],
    taskRunStates: [] as IngestTaskRunState[],
    logs: [] as LogRecord[],
    artifacts: [] as (ArtifactRecord & { id: string })[],
  };
  for (const p of batch) {
    switch (p.kind) {
      case "taskRun": {
        const t = p.row;
        payload.taskRuns.push({
          id: t.id,
          flowRunId: t.flowRunId,
          name: t.name,
          taskKey: t.taskKey,
          dynamicKey: t.dynamicKey,
          tags: t.tags,
          cacheKey: t.cacheKey ?? null,
          createdAt: t.createdAt,
          ...(t.inputTaskRunIds !== undefined ? { inputTaskRunIds: t.inputTaskRunIds } : {}),
        });
        break;
      }
      case "state":
        payload.taskRunStates.push(p.row);
        break;
      case "log":
        payload.logs.push(p.row);
        break;
      case "artifact":
        payload.artifacts.push(p.row);
        break;
    }
  }
  return payload;
}

/** Outages, overload and rate limits pass; everything else is the request's own fault. */
function transient(e: ReturnType<typeof apiErrorInfo>): boolean {
  return (
    e.unreachable ||
    e.code === "RATE_LIMITED" ||
    e.code === "TOO_MANY_REQUESTS" ||
    (e.httpStatus !== null && e.httpStatus >= 500) ||
    e.code === "INTERNAL_SERVER_ERROR"
  );
}

function info(run: {
  id: string;
  name: string;
  runCount: number;
  parameters: Record<string, unknown>;
  expectedStartTime: string;
  partitionKey: string | null;
  deploymentId: string | null;
}): FlowRunInfo {
  return {
    id: run.id,
    name: run.name,
    runCount: run.runCount,
    parameters: run.parameters,
    scheduledTime: run.expectedStartTime,
    partitionKey: run.partitionKey,
    deploymentId: run.deploymentId,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
