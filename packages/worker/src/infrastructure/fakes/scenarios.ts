// What the container pools' worker scenarios share: a run launched by a worker that then died (the
// state a killed or restarted worker leaves behind), and a Worker started and stopped around a test.
import { defaultBaseJobTemplate, resolveJobConfiguration, type BaseJobTemplate } from "@flowplane/core";
import type { ClaimedRun } from "@flowplane/client";
import { expect } from "vitest";
import { waitFor, waitForRun, type TestServer } from "../../../../../e2e/harness.ts";
import { Worker, type WorkerOptions } from "../../worker.ts";
import type { Infrastructure, JobSpec, RunningJob } from "../types.ts";

/**
 * A job as the worker builds it for run `run`: the pool's default template resolved with
 * `deployment` and `runVariables`; `lines` collects its output, each line as `format` writes it.
 */
export function resolvedJobSpec(
  type: "ecs" | "kubernetes",
  run: { id: string; name: string; workerName: string; format: (line: string, stream: string) => string },
  deployment: Record<string, unknown>,
  runVariables: Record<string, unknown> = {},
): JobSpec & { lines: string[] } {
  const resolved = resolveJobConfiguration(defaultBaseJobTemplate(type), deployment, runVariables);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  const lines: string[] = [];
  return {
    flowRunId: run.id,
    flowRunName: run.name,
    configuration: resolved.configuration,
    env: { FLOWPLANE_API_URL: "https://flowplane.example.com/api", FLOWPLANE_FLOW_RUN_ID: run.id },
    defaultCommand: ["/usr/bin/node", "runner-main.ts"],
    labels: { "flowplane.run-id": run.id, "flowplane.worker": run.workerName },
    onOutput: (line, stream) => lines.push(run.format(line, stream)),
    lines,
  };
}

/**
 * Claims a run of `deployment` (with the run's own `jobVariables`) as worker `workerName`,
 * launches it on `infrastructure` as that worker would (labels, reported id, RUNNING), and leaves
 * it: nothing watches it for the API any more, as after the worker was killed.
 */
export async function launchedByDeadWorker(
  server: TestServer,
  options: {
    poolName: string;
    deployment: string;
    workerName: string;
    infrastructure: Infrastructure;
    jobVariables?: Record<string, unknown>;
  },
): Promise<{ runId: string; claim: ClaimedRun; job: RunningJob }> {
  const run = await server.api.deployments.run.mutate({
    name: options.deployment,
    ...(options.jobVariables ? { jobVariables: options.jobVariables } : {}),
  });
  // As a Worker heartbeats: with where its job ids live, when they name a place.
  const prefix = await options.infrastructure.jobIdPrefix?.();
  const identity = await server.api.workers.heartbeat.mutate({
    workPoolName: options.poolName,
    workerName: options.workerName,
    heartbeatIntervalSeconds: 1,
    ...(prefix !== undefined ? { metadata: { jobIdPrefix: prefix } } : {}),
  });
  const polled = await server.api.workers.poll.mutate({ workerId: identity.workerId, limit: 1, waitMs: 0 });
  const claim = polled.runs.find((r) => r.id === run.id);
  if (!claim) throw new Error(`run ${run.id} was not claimed by ${options.workerName}`);
  const resolved = resolveJobConfiguration(
    identity.baseJobTemplate as BaseJobTemplate,
    claim.deploymentJobVariables,
    claim.runJobVariables,
  );
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  const job = await options.infrastructure.submit({
    flowRunId: run.id,
    flowRunName: run.name,
    configuration: resolved.configuration,
    // As the worker passes it: the process pool stops only a process running this run's runner.
    env: { FLOWPLANE_FLOW_RUN_ID: run.id },
    defaultCommand: ["node"],
    labels: { "flowplane.run-id": run.id, "flowplane.worker": options.workerName },
    onOutput: () => {},
  });
  await server.api.workers.reportInfrastructure.mutate({
    flowRunId: run.id,
    infrastructureId: job.id,
    claimToken: claim.claimToken,
  });
  await server.api.flowRuns.setState.mutate({ id: run.id, state: { type: "RUNNING" }, claimToken: claim.claimToken });
  return { runId: run.id, claim, job };
}

/**
 * Creates pool `poolName` of `type` with one deployment of the `hello` example flow per entry of
 * `deployments` (deployment name → its job variables).
 */
export async function createPool(
  server: TestServer,
  poolName: string,
  type: "process" | "docker" | "ecs" | "kubernetes",
  deployments: Record<string, Record<string, unknown>>,
): Promise<void> {
  await server.api.workPools.create.mutate({ name: poolName, type });
  for (const [name, jobVariables] of Object.entries(deployments))
    await server.api.deployments.upsert.mutate({
      flowName: "hello",
      name,
      entrypoint: "examples/hello.ts:hello",
      workPoolName: poolName,
      jobVariables,
    });
}

/**
 * One `runOnce` pass of a Worker of the pool (it claims, launches and watches one run to its end);
 * answers run `runId` as the pass left it.
 */
export async function runOnce(
  server: TestServer,
  runId: string,
  options: Pick<WorkerOptions, "poolName" | "infrastructure"> & Partial<WorkerOptions>,
) {
  await new Worker({ api: server.api, connection: server.connection, runOnce: true, ...options }).run();
  return server.api.flowRuns.get.query({ id: runId });
}

/** A Worker polling in the background, with short intervals; `stop()` ends it and its runs. */
export function startWorker(
  server: TestServer,
  options: Pick<WorkerOptions, "poolName" | "infrastructure"> & Partial<WorkerOptions>,
): { worker: Worker; stop(): Promise<void> } {
  const worker = new Worker({
    api: server.api,
    connection: server.connection,
    pollWaitMs: 200,
    heartbeatIntervalSeconds: 1,
    stopGraceMs: 100,
    ...options,
  });
  const running = worker.run();
  return {
    worker,
    async stop() {
      await worker.stop({ killRuns: true });
      await running;
    },
  };
}

/** The run's log lines, oldest first. */
export async function runLogs(server: TestServer, flowRunId: string): Promise<string[]> {
  const logs = await server.api.logs.list.query({ flowRunId, limit: 1000 });
  return logs.map((l) => l.message);
}

/**
 * The restart scenario: a run launched by worker `launcher`, which then died, is cancelled; once
 * the launcher is OFFLINE (when `successor` is another name) `beforeSuccessor` looks at the state
 * it left, and worker `successor` is started. Answers the run once CANCELLED, with the job.
 */
export async function cancelAfterRestart(
  server: TestServer,
  options: {
    poolName: string;
    deployment: string;
    launcher: string;
    successor: string;
    infrastructure: () => Infrastructure;
    beforeSuccessor?: (runId: string) => Promise<void>;
  },
) {
  const { runId, job } = await launchedByDeadWorker(server, {
    poolName: options.poolName,
    deployment: options.deployment,
    workerName: options.launcher,
    infrastructure: options.infrastructure(),
  });
  await server.api.flowRuns.cancel.mutate({ id: runId });
  if (options.successor !== options.launcher)
    await waitFor("the launcher to go OFFLINE", async () =>
      (await server.api.workers.list.query({ workPoolName: options.poolName })).some(
        (w) => w.name === options.launcher && w.status === "OFFLINE",
      ),
    );
  await options.beforeSuccessor?.(runId);
  const successor = startWorker(server, {
    poolName: options.poolName,
    name: options.successor,
    infrastructure: options.infrastructure(),
  });
  try {
    const final = await waitForRun(server, runId, "CANCELLED", (r) => r.state.type === "CANCELLED", 20_000);
    expect(final.state.message).toBe(`cancelled: infrastructure ${job.id} stopped by worker ${options.successor}`);
    return { final, job };
  } finally {
    await successor.stop();
  }
}

/**
 * Who hears the cancel of a run whose job lives elsewhere (see cancelHeardElsewhere), for worker
 * names starting `prefix`: a worker back under the launcher's name on another host (sent the run
 * as its own), or a new worker there once the launcher is OFFLINE (the server sends it nothing).
 */
export const HEARD_ELSEWHERE = [
  {
    how: "a worker back under the launcher's name",
    names: (prefix: string) => ({ launcher: prefix, stranger: prefix, successor: prefix }),
  },
  {
    how: "a new worker of the pool",
    names: (prefix: string) => ({ launcher: `${prefix}-dead`, stranger: `${prefix}-far`, successor: `${prefix}-near` }),
  },
] as const;

/**
 * The cancel of a run whose job lives on one host or engine, heard by a worker on another: worker
 * `launcher` (infrastructure `here`) launched the run and died; the run is cancelled. Worker
 * `stranger`, whose infrastructure is elsewhere (another host identity or engine ID), is started
 * (see HEARD_ELSEWHERE): the run must stay CANCELLING and the job keep running (`running`), and a
 * stranger sent the cancel says on the run's log why it leaves it (`refusal` matches its reason).
 * Then worker `successor`, on the launcher's host, stops the job and the run ends CANCELLED.
 */
export async function cancelHeardElsewhere(
  server: TestServer,
  options: {
    poolName: string;
    deployment: string;
    names: { launcher: string; stranger: string; successor: string };
    here: () => Infrastructure;
    elsewhere: () => Infrastructure;
    /** Whether the job with this id still runs. */
    running: (id: string) => Promise<boolean>;
    refusal: RegExp;
  },
): Promise<void> {
  const { launcher, stranger, successor } = options.names;
  const { job } = await cancelAfterRestart(server, {
    poolName: options.poolName,
    deployment: options.deployment,
    launcher,
    successor,
    infrastructure: options.here,
    beforeSuccessor: async (runId) => {
      const warnings: string[] = [];
      const elsewhere = startWorker(server, {
        poolName: options.poolName,
        name: stranger,
        infrastructure: options.elsewhere(),
        log: (level, message) => {
          if (level === "warn") warnings.push(message);
        },
      });
      const refused = `; left to a worker there, the run stays CANCELLING until one stops it`;
      try {
        if (stranger === launcher) {
          // Until it has said it leaves the cancel, or (the bug) the run has moved on.
          await waitFor(
            "the stranger to leave the cancel",
            async () =>
              warnings.some((w) => w.startsWith(`flow run ${runId}: `) && w.endsWith(refused)) ||
              (await server.api.flowRuns.get.query({ id: runId })).state.type !== "CANCELLING",
          );
        } else {
          await waitFor("the stranger to heartbeat", async () => elsewhere.worker.id !== null);
          const polled = await server.api.workers.poll.mutate({ workerId: elsewhere.worker.id!, limit: 0, waitMs: 0 });
          expect(polled.cancel.map((c) => c.id)).not.toContain(runId);
        }
        // A few of the stranger's polls later, nothing has been touched.
        await new Promise((r) => setTimeout(r, 2_000));
        const run = await server.api.flowRuns.get.query({ id: runId });
        expect(run.state.type).toBe("CANCELLING");
        expect(await options.running(run.infrastructureId!)).toBe(true);
        if (stranger === launcher) {
          const line = (await runLogs(server, runId)).find((l) => l.startsWith(`Flowplane worker ${stranger}: `));
          expect(line?.slice(`Flowplane worker ${stranger}: `.length, -refused.length)).toMatch(options.refusal);
        }
      } finally {
        await elsewhere.stop();
      }
    },
  });
  expect(await options.running(job.id)).toBe(false);
}

/**
 * The two restarts orphan cleanup must handle, as restartAmongOwnJobs names them for worker names
 * starting `prefix`: the launcher back under its name, and a new worker once the launcher is OFFLINE.
 */
export const RESTARTS = [
  { how: "a worker back under its name", names: (prefix: string) => ({ workerName: prefix, successor: prefix }) },
  {
    how: "a worker under a new name",
    names: (prefix: string) => ({ workerName: `${prefix}-old`, successor: `${prefix}-new` }),
  },
] as const;

/**
 * The cleanup scenario: worker `workerName` launched two runs (with the runs' `jobVariables`) and
 * died; one of them has since ended. Worker `successor` (default: `workerName` again; another name
 * once `workerName` is OFFLINE) is started; `check` runs while it is up.
 */
export async function restartAmongOwnJobs(
  server: TestServer,
  options: {
    poolName: string;
    deployment: string;
    workerName: string;
    infrastructure: () => Infrastructure;
    jobVariables?: Record<string, unknown>;
    successor?: string;
  },
  check: (jobs: { live: RunningJob; ended: RunningJob }) => Promise<void>,
): Promise<void> {
  const launch = () =>
    launchedByDeadWorker(server, {
      poolName: options.poolName,
      deployment: options.deployment,
      workerName: options.workerName,
      infrastructure: options.infrastructure(),
      ...(options.jobVariables ? { jobVariables: options.jobVariables } : {}),
    });
  const live = await launch();
  const ended = await launch();
  await server.api.flowRuns.setState.mutate({
    id: ended.runId,
    state: { type: "COMPLETED" },
    claimToken: ended.claim.claimToken,
  });
  const successor = options.successor ?? options.workerName;
  if (successor !== options.workerName)
    await waitFor("the launcher to go OFFLINE", async () =>
      (await server.api.workers.list.query({ workPoolName: options.poolName })).some(
        (w) => w.name === options.workerName && w.status === "OFFLINE",
      ),
    );
  const restarted = startWorker(server, {
    poolName: options.poolName,
    name: successor,
    infrastructure: options.infrastructure(),
  });
  try {
    await check({ live: live.job, ended: ended.job });
    expect((await server.api.flowRuns.get.query({ id: live.runId })).state.type).toBe("RUNNING");
  } finally {
    await restarted.stop();
    await options.infrastructure().stop(live.job.id, 0);
  }
}

/**
 * The failing-cancel scenario: worker `workerName` launches a run; `breakStop` makes the platform
 * refuse stops for a while; the run is cancelled and must end CANCELLED, and the worker must still
 * launch and cancel the next run. Answers the first run's id, infrastructure id and log lines.
 */
export async function cancelThroughFailingStops(
  server: TestServer,
  options: { poolName: string; deployment: string; workerName: string; infrastructure: Infrastructure },
  breakStop: () => void,
): Promise<{ runId: string; infrastructureId: string; logs: string[] }> {
  const running = startWorker(server, {
    poolName: options.poolName,
    name: options.workerName,
    infrastructure: options.infrastructure,
  });
  const launchAndCancel = async (before?: () => void) => {
    const run = await server.api.deployments.run.mutate({ name: options.deployment });
    const launched = await waitForRun(server, run.id, "launched", (r) => r.infrastructureId !== null, 20_000);
    before?.();
    await server.api.flowRuns.cancel.mutate({ id: run.id });
    await waitForRun(server, run.id, "CANCELLED", (r) => r.state.type === "CANCELLED", 30_000);
    return { runId: run.id, infrastructureId: launched.infrastructureId! };
  };
  try {
    const first = await launchAndCancel(breakStop);
    // Still serving: the next run is launched and cancelled.
    await launchAndCancel();
    return { ...first, logs: await runLogs(server, first.runId) };
  } finally {
    await running.stop();
  }
}
