// A worker: registers with its pool by heartbeat, long-polls for runs (the server answers the moment
// one becomes claimable), launches each on its infrastructure, stops runs asked to cancel, and
// reports runs whose infrastructure exits without a final state as CRASHED. It keeps nothing a
// restart would lose: the server holds every run's state and where its infrastructure is, so a
// cancel reaches a task whoever launched it, and a restarted worker reconciles what its name
// launched with the runs' states (cleanupOrphans).
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  findReferences,
  isTerminal,
  Redactor,
  resolveJobConfiguration,
  resolveReferences,
  uuidv7,
  type BaseJobTemplate,
  type StateType,
} from "@flowplane/core";
import {
  apiErrorInfo,
  flowplaneHome,
  readNamedValues,
  type ApiClient,
  type Connection,
  type DeliveredRun,
} from "@flowplane/client";
import {
  InfrastructureError,
  JobElsewhereError,
  type Infrastructure,
  type RunningJob,
} from "./infrastructure/types.ts";

export interface WorkerOptions {
  api: ApiClient;
  connection: Connection;
  poolName: string;
  name?: string;
  /** Most runs at once (default 10). */
  limit?: number;
  /** Claim what is due once, run it to the end, then stop. */
  runOnce?: boolean;
  heartbeatIntervalSeconds?: number;
  /** How long a cancelled run gets between SIGTERM and SIGKILL. */
  stopGraceMs?: number;
  pollWaitMs?: number;
  infrastructure: Infrastructure;
  log?: (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
  /**
   * A run whose infrastructure could not be created for a reason that passes (capacity, throttling,
   * 5xx) goes back to the queue, for this long after its expected start (default 600 s); after
   * that it fails with the cause.
   */
  rescheduleForSeconds?: number;
  /** How long such a run waits in the queue before it is claimable again (default 30 s). */
  rescheduleDelaySeconds?: number;
  /** How often orphaned jobs are looked for, in heartbeats (default every 6th). */
  orphanCheckEveryHeartbeats?: number;
}

/** A run the server asks this worker to stop (see the poll's `cancel`). */
type CancelRequest = Awaited<ReturnType<ApiClient["workers"]["poll"]["mutate"]>>["cancel"][number];

interface ActiveRun {
  run: DeliveredRun;
  job: RunningJob | null;
  cancelling: boolean;
  /** Extends the claim while the infrastructure provisions (the run is PENDING). */
  claimTimer: NodeJS.Timeout | null;
  /** Settles when the run's handling is over (exit seen, final state reported). */
  done: Promise<void>;
  /** The secret values resolved into this run's job, replaced by *** in its captured output. */
  redactor: Redactor;
}

/**
 * How a worker starts a flow run's runner: this Node, with this process's Node flags (so a worker
 * started with `--import tsx` or `--conditions` passes them on), running the runner bootstrap that
 * sits beside this module — runner-bootstrap.ts in the sources, runner-bootstrap.js in the built
 * flowplane package, whose dist/ holds this module's bundle too. The bootstrap hands over to the
 * SDK of the flow's own project.
 */
export function defaultRunnerCommand(): string[] {
  const extension = path.extname(fileURLToPath(import.meta.url));
  const bootstrap = fileURLToPath(new URL(`./runner-bootstrap${extension}`, import.meta.url));
  return [process.execPath, ...process.execArgv, bootstrap];
}

export class Worker {
  readonly name: string;
  private workerId: string | null = null;
  private template: BaseJobTemplate | null = null;
  private readonly active = new Map<string, ActiveRun>();
  private stopping = false;
  private readonly pollAbort = new AbortController();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly limit: number;
  private readonly log: NonNullable<WorkerOptions["log"]>;
  private readonly logBuffer: {
    id: string;
    flowRunId: string;
    name: string;
    level: number;
    message: string;
    timestamp: string;
  }[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  /** Cancels being carried out or waiting to be retried, by run id. */
  private readonly cancels = new Map<
    string,
    { inFlight: boolean; attempts: number; notBefore: number; elsewhere?: boolean }
  >();

  constructor(private readonly options: WorkerOptions) {
    this.name = options.name ?? `${os.hostname()}-${process.pid}`;
    this.limit = options.limit ?? 10;
    this.log = options.log ?? (() => {});
  }

  get id(): string | null {
    return this.workerId;
  }

  /** Runs until stop() (or, with runOnce, until the due runs have finished). */
  async run(): Promise<void> {
    await this.heartbeat();
    this.log("info", `worker ${this.name} polling pool ${this.options.poolName}`, {
      workerId: this.workerId,
      limit: this.limit,
    });
    const interval = (this.options.heartbeatIntervalSeconds ?? 10) * 1000;
    let beats = 0;
    this.heartbeatTimer = setInterval(() => {
      void this.heartbeat().catch((err) => this.log("warn", `heartbeat failed: ${apiErrorInfo(err).message}`));
      // Now and then, remove what workers of this pool that died left running.
      if (++beats % (this.options.orphanCheckEveryHeartbeats ?? 6) === 0) void this.cleanupOrphans();
    }, interval);
    void this.cleanupOrphans();
    try {
      if (this.options.runOnce) {
        await this.pollOnce(0);
        await this.drain();
        return;
      }
      let backoffMs = 250;
      while (!this.stopping) {
        try {
          await this.pollOnce(this.options.pollWaitMs ?? 25_000);
          backoffMs = 250;
        } catch (err) {
          if (this.stopping) break;
          const info = apiErrorInfo(err);
          this.log("warn", `poll failed: ${info.message}; retrying in ${backoffMs} ms`);
          await sleep(info.retryAfterMs ?? backoffMs);
          backoffMs = Math.min(backoffMs * 2, 10_000);
        }
      }
      await this.drain();
    } finally {
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      await this.flushLogs();
    }
  }

  /** Stops claiming; runs in progress finish unless `killRuns` (then they are stopped and crash). */
  async stop(options: { killRuns?: boolean } = {}): Promise<void> {
    this.stopping = true;
    this.pollAbort.abort();
    if (options.killRuns)
      await Promise.all(
        [...this.active.values()].map((a) => a.job?.stop(this.options.stopGraceMs ?? 10_000) ?? Promise.resolve()),
      );
  }

  /**
   * Reconciles what this worker's name launched before a restart, and what OFFLINE workers of the
   * pool launched, with the runs' states: a job whose run has ended, been rescheduled, or moved on
   * to another attempt (another infrastructure id) is stopped and removed. A job that is still its
   * run's live attempt is left running: its runner reports the run's end itself, and a cancel
   * reaches it through the stored id (cancel()).
   *
   * Jobs are looked for in every place the pool's jobs went, not only the template's default: a
   * deployment's or a run's job variables may name another cluster, region or namespace. Those
   * places are the default and the locations of the infrastructure ids the server stores for the
   * pool's live and recent runs (one id per place; see workers.infrastructureLocations). An orphan
   * is an earlier attempt of such a run, or a run that has ended, so its place is among them, while
   * nothing outside them (the account's other clusters, the cluster's other namespaces) is listed.
   * Each check costs one API read and one search per place and worker name.
   */
  private async cleanupOrphans(): Promise<void> {
    const infrastructure = this.options.infrastructure;
    if (!infrastructure.findJobs || !this.template || !this.workerId) return;
    try {
      const workers = await this.options.api.workers.list.query({ workPoolName: this.options.poolName });
      const names = [
        this.name,
        ...workers.filter((w) => w.status === "OFFLINE" && w.name !== this.name).map((w) => w.name),
      ];
      const defaults = resolveJobConfiguration(this.template, {}, {});
      const places = await this.orphanLocations(defaults.ok ? defaults.configuration : {});
      for (const where of places) {
        // A place that cannot be searched (a cluster or namespace since deleted, access withdrawn)
        // is said, and the others are still searched.
        await this.removeOrphansIn(where, names).catch((err: unknown) =>
          this.log(
            "warn",
            `orphan cleanup in ${JSON.stringify(where)} failed: ${err instanceof Error ? err.message : apiErrorInfo(err).message}`,
          ),
        );
      }
    } catch (err) {
      this.log("warn", `orphan cleanup failed: ${err instanceof Error ? err.message : apiErrorInfo(err).message}`);
    }
  }

  private async removeOrphansIn(where: Record<string, unknown>, names: string[]): Promise<void> {
    const infrastructure = this.options.infrastructure;
    for (const name of names) {
      let removed = 0;
      for (const job of await infrastructure.findJobs!({ "flowplane.worker": name }, where)) {
        if (job.flowRunId && this.active.has(job.flowRunId)) continue;
        if (job.flowRunId) {
          const run = await this.options.api.flowRuns.get.query({ id: job.flowRunId }).catch(() => null);
          const type = run?.state.type as StateType | undefined;
          const live = type === "PENDING" || type === "RUNNING" || type === "PAUSED" || type === "CANCELLING";
          // Its run's current attempt: left to its runner, and to cancel() (which stops it first).
          if (run && live && run.infrastructureId === job.id) continue;
        }
        await infrastructure.stop(job.id, this.options.stopGraceMs ?? 10_000, job.flowRunId ?? undefined);
        removed++;
      }
      if (removed > 0) this.log("info", `removed ${removed} jobs left by worker ${name} in ${JSON.stringify(where)}`);
    }
  }

  /** The places cleanupOrphans searches: the default configuration's, and those of the pool's stored ids. */
  private async orphanLocations(defaults: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const infrastructure = this.options.infrastructure;
    if (!infrastructure.jobLocation) return [defaults];
    const places = new Map<string, Record<string, unknown>>();
    const add = (place: Record<string, unknown>) => places.set(JSON.stringify(place), place);
    add(await infrastructure.jobLocation({ configuration: defaults }));
    const ids = await this.options.api.workers.infrastructureLocations.query({ workerId: this.workerId! });
    for (const id of ids)
      // An id this pool type cannot read (the pool's type changed) names no place to search.
      await infrastructure.jobLocation({ id }).then(add, () => {});
    return [...places.values()];
  }

  private async heartbeat(): Promise<void> {
    const prefix = (await this.options.infrastructure.jobIdPrefix?.().catch(() => null)) ?? null;
    const identity = await this.options.api.workers.heartbeat.mutate({
      workPoolName: this.options.poolName,
      workerName: this.name,
      heartbeatIntervalSeconds: this.options.heartbeatIntervalSeconds ?? 10,
      metadata: {
        type: this.options.infrastructure.type,
        pid: process.pid,
        host: os.hostname(),
        // Where this worker's job ids live (its host, its engine): the server sends it the cancels
        // of OFFLINE workers' runs only for ids it can reach (claims.cancelRequests). Unknown for a
        // beat (an engine that does not answer): sent all of them, and stop() refuses the others.
        ...(prefix !== null ? { jobIdPrefix: prefix } : {}),
      },
    });
    const poolType = identity.workPoolType.toLowerCase();
    if (poolType !== this.options.infrastructure.type) {
      throw new Error(
        `pool "${this.options.poolName}" is a ${poolType} pool; this worker runs ${this.options.infrastructure.type} jobs`,
      );
    }
    this.workerId = identity.workerId;
    this.template = identity.baseJobTemplate as BaseJobTemplate;
  }

  private async pollOnce(waitMs: number): Promise<void> {
    const available = Math.max(0, this.limit - this.active.size);
    const result = await this.options.api.workers.poll.mutate(
      { workerId: this.workerId!, limit: available, waitMs },
      { signal: this.pollAbort.signal },
    );
    for (const request of result.cancel) void this.cancel(request);
    for (const id of this.cancels.keys())
      if (!result.cancel.some((c) => c.id === id) && !this.cancels.get(id)!.inFlight) this.cancels.delete(id);
    for (const run of result.runs) this.launch(run);
    // The server answers at once while a run is CANCELLING; while every one of them is already
    // being stopped (or waits for its retry), pause rather than poll in a tight loop.
    if (result.runs.length === 0 && result.cancel.length > 0 && !this.stopping)
      await sleep(Math.max(50, Math.min(1_000, this.nextCancelDueMs())));
  }

  private nextCancelDueMs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const c of this.cancels.values()) if (!c.inFlight) next = Math.min(next, c.notBefore - Date.now());
    return next;
  }

  private async drain(): Promise<void> {
    while (this.active.size > 0) await Promise.race([...this.active.values()].map((a) => a.done));
  }

  private launch(run: DeliveredRun): void {
    const entry: ActiveRun = {
      run,
      job: null,
      cancelling: false,
      claimTimer: null,
      done: Promise.resolve(),
      redactor: new Redactor(),
    };
    this.active.set(run.id, entry);
    this.extendClaimWhileProvisioning(entry);
    entry.done = this.execute(entry).finally(() => {
      if (entry.claimTimer) clearInterval(entry.claimTimer);
      this.active.delete(run.id);
    });
  }

  /**
   * A slow start (a Fargate task provisioning, a pod waiting for a node, retries of RunTask) must
   * not let the claim expire: another worker would then launch a second execution. While the run
   * is PENDING, its claim is extended every third of the claim timeout.
   */
  private extendClaimWhileProvisioning(entry: ActiveRun): void {
    const everyMs = Math.max(200, (entry.run.claimTimeoutSeconds * 1000) / 3);
    entry.claimTimer = setInterval(() => {
      this.options.api.workers.extendClaim
        .mutate({ flowRunId: entry.run.id, claimToken: entry.run.claimToken })
        .then((r) => {
          if (r.stateType !== "PENDING" && entry.claimTimer) clearInterval(entry.claimTimer);
        })
        .catch((err: unknown) => {
          const info = apiErrorInfo(err);
          if (info.code === "CLAIM_SUPERSEDED" && entry.claimTimer) clearInterval(entry.claimTimer);
          this.log("warn", `could not extend the claim of ${entry.run.id}: ${info.message}`);
        });
    }, everyMs);
  }

  /** Whether the run's runner still heartbeats (asked before giving up on infrastructure out of sight). */
  private async runnerAlive(run: DeliveredRun): Promise<boolean> {
    const status = await this.options.api.workers.extendClaim.mutate({ flowRunId: run.id, claimToken: run.claimToken });
    return status.runnerAlive;
  }

  private async execute(entry: ActiveRun): Promise<void> {
    const run = entry.run;
    try {
      const resolved = resolveJobConfiguration(this.template!, run.deploymentJobVariables, run.runJobVariables);
      if (!resolved.ok)
        throw new Error(`job variables: ${resolved.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
      const secretEnv = this.options.infrastructure.type === "process" ? null : takeSecretEnv(resolved.configuration);
      const references = await this.resolveJobReferences(entry, resolved.configuration);
      if (!references) return;
      const redactNames = [...new Set([...references.secretNames, ...(secretEnv?.secretNames ?? [])])];
      const configuration = references.configuration;
      // With pull steps the runner fetches the code itself; the deployer's directory means nothing here.
      if (configuration["working_dir"] == null && run.path && !run.pullSteps) configuration["working_dir"] = run.path;
      const job = await this.options.infrastructure.submit({
        flowRunId: run.id,
        flowRunName: run.name,
        configuration,
        // What the run gets from Flowplane, on every pool type. Never the worker's key: the run's
        // only credential is its attempt's own short-lived token, limited to this run (it renews
        // it while the attempt holds the claim; the server fences every write it makes).
        env: {
          FLOWPLANE_API_URL: this.options.connection.apiUrl,
          FLOWPLANE_RUN_TOKEN: run.runToken,
          FLOWPLANE_FLOW_RUN_ID: run.id,
          // The server's timeout decides how often the run must heartbeat, not the worker's env.
          FLOWPLANE_RUN_HEARTBEAT_SECONDS: String(run.heartbeatIntervalSeconds),
          ...(run.entrypoint ? { FLOWPLANE_ENTRYPOINT: run.entrypoint } : {}),
          // Output is streamed to the run's logs by the worker; the SDK need not echo captured prints.
          FLOWPLANE_OUTPUT_STREAMED: configuration["stream_output"] === false ? "0" : "1",
          ...(redactNames.length > 0 ? { FLOWPLANE_REDACT_SECRETS: redactNames.join(",") } : {}),
          ...(secretEnv ? { FLOWPLANE_SECRET_ENV: JSON.stringify(secretEnv.templates) } : {}),
          ...pullEnvironment(run, this.options.infrastructure.type),
        },
        defaultCommand: defaultRunnerCommand(),
        labels: { "flowplane.run-id": run.id, "flowplane.worker": this.name },
        onOutput: (line, stream) => this.bufferLog(run.id, entry.redactor.text(line), stream),
        onEvent: (message) => this.bufferLog(run.id, `Flowplane worker: ${entry.redactor.text(message)}`, "stderr"),
        runnerAlive: () => this.runnerAlive(run),
      });
      entry.job = job;
      this.log("info", `started flow run ${run.name} (${run.id})`, { infrastructureId: job.id });
      this.options.api.workers.reportInfrastructure
        .mutate({ flowRunId: run.id, infrastructureId: job.id, claimToken: run.claimToken })
        .catch((err: unknown) =>
          this.log("warn", `could not report infrastructure of ${run.id}: ${apiErrorInfo(err).message}`),
        );
      if (entry.cancelling) void this.cancel({ id: run.id, claimToken: run.claimToken, infrastructureId: job.id });
      const exit = await job.exited;
      await this.flushLogs();
      await this.settle(run, job.id, exit.stopped || entry.cancelling, `infrastructure ${exit.reason}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log("error", `flow run ${run.id} could not start: ${message}`);
      this.bufferLog(run.id, `Flowplane worker could not start this run: ${message}`, "stderr");
      await this.flushLogs();
      if (err instanceof InfrastructureError && err.transient) {
        await this.requeue(run, message);
        return;
      }
      await this.propose(run.id, run.claimToken, {
        type: "CRASHED",
        message: `infrastructure could not start: ${message}`,
      });
    }
  }

  /**
   * Infrastructure that could not be created for a passing reason: the run goes back to the queue
   * (to this or another worker, later), until rescheduleForSeconds after its expected start; then
   * it fails with the cause, so a run never waits for capacity for ever.
   */
  private async requeue(run: DeliveredRun, message: string): Promise<void> {
    const waitedSeconds = (Date.now() - new Date(run.expectedStartTime).getTime()) / 1000;
    if (waitedSeconds < (this.options.rescheduleForSeconds ?? 600)) {
      const at = new Date(Date.now() + (this.options.rescheduleDelaySeconds ?? 30) * 1000);
      await this.propose(run.id, run.claimToken, {
        type: "SCHEDULED",
        message: `infrastructure could not be created: ${message}; rescheduled for ${at.toISOString()}`,
        details: { scheduledTime: at.toISOString() },
      });
      return;
    }
    await this.propose(run.id, run.claimToken, {
      type: "FAILED",
      message: `infrastructure could not be created for ${Math.round(waitedSeconds)} s: ${message}`,
    });
  }

  /**
   * Resolves `{{ secret.NAME }}` / `{{ variable.NAME }}` in the run's job configuration, in memory
   * only (the run keeps its job variables as written). A missing name fails the run before it
   * starts, naming it; null is returned then. Resolved secret values are redacted from the run's
   * captured output, and their names are passed to the runner so the SDK redacts them too.
   */
  private async resolveJobReferences(
    entry: ActiveRun,
    configuration: Record<string, unknown>,
  ): Promise<{ configuration: Record<string, unknown>; secretNames: string[] } | null> {
    const refs = findReferences(configuration);
    if (refs.secrets.length === 0 && refs.variables.length === 0) return { configuration, secretNames: [] };
    const run = entry.run;
    const { secrets, variables, missing } = await readNamedValues(this.options.api, {
      flowRunId: run.id,
      claimToken: run.claimToken,
      secrets: refs.secrets,
      variables: refs.variables,
    });
    if (missing.length > 0) {
      const message = `${missing.join(", ")} referenced by the job variables ${missing.length === 1 ? "does" : "do"} not exist`;
      this.log("error", `flow run ${run.id} cannot start: ${message}`);
      await this.propose(run.id, run.claimToken, { type: "FAILED", message, details: { noRetry: true } });
      return null;
    }
    for (const value of Object.values(secrets)) entry.redactor.add(value);
    return {
      configuration: resolveReferences(configuration, { secrets, variables }) as Record<string, unknown>,
      secretNames: refs.secrets,
    };
  }

  /**
   * After the infrastructure exits: a run without a final state crashed (or was cancelled). Only
   * for this worker's own attempt: a run now on other infrastructure belongs to another attempt
   * (its claim expired and another worker launched it), and every proposal carries this attempt's
   * claim token, which the server refuses once the claim has moved on.
   */
  private async settle(run: DeliveredRun, jobId: string, stopped: boolean, reason: string): Promise<void> {
    const current = await this.options.api.flowRuns.get.query({ id: run.id });
    const type = current.state.type as StateType;
    if (isTerminal(type)) return;
    if (current.infrastructureId !== null && current.infrastructureId !== jobId) {
      this.log(
        "warn",
        `flow run ${run.id} runs on ${current.infrastructureId} now, not on ${jobId}; leaving it to that attempt`,
      );
      return;
    }
    if (type === "CANCELLING" || stopped) {
      await this.propose(run.id, run.claimToken, { type: "CANCELLED", message: `cancelled: ${reason}` });
      return;
    }
    // A SCHEDULED run (AwaitingRetry set by the runner) goes back to the queue; nothing to do.
    if (type === "SCHEDULED") return;
    await this.propose(run.id, run.claimToken, {
      type: "CRASHED",
      message: `${reason} without reporting a final state`,
    });
  }

  /**
   * Stops a run asked to cancel. A run this worker executes is stopped through its job (settle()
   * then reports CANCELLED); any other (launched before a restart, or by an OFFLINE worker of the
   * pool) is stopped from its stored infrastructure id, and reported CANCELLED only once the
   * platform says it has stopped. A stop that fails is logged on the run and retried with backoff
   * on later polls (the server keeps asking while the run is CANCELLING); it never ends the worker.
   * An id on another host or engine (a process or container this worker cannot reach) is left to a
   * worker there: the run stays CANCELLING, said once on its log, and is looked at again later.
   */
  private async cancel(request: CancelRequest): Promise<void> {
    const state = this.cancels.get(request.id) ?? { inFlight: false, attempts: 0, notBefore: 0 };
    if (state.inFlight || Date.now() < state.notBefore) return;
    state.inFlight = true;
    this.cancels.set(request.id, state);
    const grace = this.options.stopGraceMs ?? 10_000;
    try {
      const entry = this.active.get(request.id);
      if (entry) {
        entry.cancelling = true;
        // Still being submitted: execute() stops it once it has an id.
        if (!entry.job) return;
        this.log("info", `cancelling flow run ${request.id}`);
        await entry.job.stop(grace);
        this.cancels.delete(request.id);
        return;
      }
      if (request.infrastructureId) {
        this.log("info", `cancelling flow run ${request.id}: stopping ${request.infrastructureId}`);
        await this.options.infrastructure.stop(request.infrastructureId, grace, request.id);
      }
      await this.propose(request.id, request.claimToken, {
        type: "CANCELLED",
        message: request.infrastructureId
          ? `cancelled: infrastructure ${request.infrastructureId} stopped by worker ${this.name}`
          : "cancelled; no infrastructure was running",
      });
      this.cancels.delete(request.id);
    } catch (err) {
      if (err instanceof JobElsewhereError) {
        // Not a failure to retry soon: nothing here can stop it. Said once; asked again in a while
        // in case the id changes (a new attempt launched here).
        state.notBefore = Date.now() + 30_000;
        if (!state.elsewhere) {
          state.elsewhere = true;
          const message = `${err.message}; left to a worker there, the run stays CANCELLING until one stops it`;
          this.log("warn", `flow run ${request.id}: ${message}`);
          this.bufferLog(request.id, `Flowplane worker ${this.name}: ${message}`, "stderr");
        }
        return;
      }
      state.attempts++;
      const ceiling = Math.min(30_000, 1_000 * 2 ** (state.attempts - 1));
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      state.notBefore = Date.now() + delay;
      const message = `could not stop the run's infrastructure (attempt ${state.attempts}): ${err instanceof Error ? err.message : String(err)}; retrying in ${(delay / 1000).toFixed(1)} s`;
      this.log("warn", `flow run ${request.id}: ${message}`);
      this.bufferLog(request.id, `Flowplane worker ${this.name}: ${message}`, "stderr");
    } finally {
      state.inFlight = false;
    }
  }

  private async propose(
    flowRunId: string,
    claimToken: string | null,
    state: { type: StateType; message: string; details?: { noRetry?: boolean; scheduledTime?: string } },
  ): Promise<void> {
    try {
      await this.options.api.flowRuns.setState.mutate({
        id: flowRunId,
        state,
        ...(claimToken ? { claimToken } : {}),
      });
    } catch (err) {
      const info = apiErrorInfo(err);
      if (info.code === "CLAIM_SUPERSEDED") {
        // Another attempt holds the run now; this worker's view of it is stale, and it must not
        // touch the run again (its infrastructure, if any, has already exited here).
        this.log("warn", `flow run ${flowRunId} is no longer ours: ${info.message}`);
        return;
      }
      this.log("error", `could not report ${state.type} for flow run ${flowRunId}: ${info.message}`);
    }
  }

  private bufferLog(flowRunId: string, line: string, stream: "stdout" | "stderr"): void {
    this.logBuffer.push({
      id: uuidv7(),
      flowRunId,
      name: stream === "stderr" ? "flowplane.stderr" : "flowplane.stdout",
      level: stream === "stderr" ? 40 : 20,
      message: line,
      timestamp: new Date().toISOString(),
    });
    if (this.logBuffer.length >= 500) void this.flushLogs();
    else this.flushTimer ??= setTimeout(() => void this.flushLogs(), 200);
  }

  /**
   * Sends buffered output lines. An outage keeps them for the next flush (up to 10,000 lines); a
   * refusal is narrowed by halving to the one line that causes it, which alone is dropped, so a
   * hostile line never holds back the output after it.
   */
  private async flushLogs(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    let size = 1000;
    while (this.logBuffer.length > 0) {
      const batch = this.logBuffer.splice(0, size);
      try {
        const result = await this.options.api.ingest.batch.mutate({ logs: batch });
        for (const rejection of result.rejected)
          this.log("warn", `the API refused an output line: ${rejection.message}`);
        size = 1000;
      } catch (err) {
        const info = apiErrorInfo(err);
        const outage =
          info.unreachable || info.code === "RATE_LIMITED" || info.httpStatus === 429 || (info.httpStatus ?? 0) >= 500;
        if (!outage && batch.length > 1) {
          this.logBuffer.unshift(...batch);
          size = Math.ceil(batch.length / 2);
          continue;
        }
        if (!outage) {
          this.log("warn", `the API refused an output line: ${info.message}`);
          continue;
        }
        this.log("warn", `could not send ${batch.length} log lines: ${info.message}`);
        this.logBuffer.unshift(...batch.slice(0, Math.max(0, 10_000 - this.logBuffer.length)));
        return;
      }
    }
  }
}

/**
 * On a container pool, the job's `env` entries that reference a secret, taken out of the
 * configuration as written (templates, not values): resolved here, their values would be in the
 * platform's own records (the Kubernetes Job, ECS RunTask's overrides and CloudTrail, the docker
 * container's config), readable by whoever may read those. The runner bootstrap resolves them
 * inside the container with the run's own token (FLOWPLANE_SECRET_ENV) before anything runs. Null
 * when no entry references a secret. A process pool's env goes straight to a child process, so its
 * worker resolves them.
 */
function takeSecretEnv(
  configuration: Record<string, unknown>,
): { templates: Record<string, string>; secretNames: string[] } | null {
  const env = configuration["env"];
  if (env === null || typeof env !== "object" || Array.isArray(env)) return null;
  const templates: Record<string, string> = {};
  const rest: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string" && findReferences(value).secrets.length > 0) templates[name] = value;
    else rest[name] = value;
  }
  const secretNames = findReferences(templates).secrets;
  if (secretNames.length === 0) return null;
  configuration["env"] = rest;
  return { templates, secretNames };
}

/**
 * What the runner needs to run a deployment's pull steps: the steps as stored (references resolve
 * in the runner) and, for runs on this machine, the worker's FLOWPLANE_HOME, so its caches serve
 * every run; a container keeps its own.
 */
function pullEnvironment(run: DeliveredRun, type: string): Record<string, string> {
  if (!run.pullSteps || run.pullSteps.length === 0) return {};
  return {
    FLOWPLANE_PULL_STEPS: JSON.stringify(run.pullSteps),
    ...(type === "process" ? { FLOWPLANE_HOME: flowplaneHome() } : {}),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
