// The path from "a run is due" to "it ran on the customer's machine and reported back", through the
// real CLI, a real worker process, and real child processes for the runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminal, type StateType } from "@flowplane/core";
import { createApiClient } from "@flowplane/client";
import {
  cancelWithCli,
  deployToNewPool,
  exited,
  expectHelloCompleted,
  fastWorkerEnv,
  outputOf,
  processAlive,
  repoRoot,
  runCli,
  runnerCommand,
  runDeploymentOnce,
  spawnCli,
  startTestServer,
  waitFor,
  waitForRun,
  waitForState,
  waitUntilRunning,
  withWorker,
  type TestServer,
} from "./harness.ts";

let server: TestServer;
const pool = "e2e-process";

beforeAll(async () => {
  // Shortened liveness so crash detection takes seconds, not minutes.
  server = await startTestServer({ runHeartbeatTimeoutSeconds: 3, livenessIntervalMs: 300, missedWorkerHeartbeats: 2 });
  await deployToNewPool(server, pool, "process", [
    ["examples/hello.ts:hello", "hello"],
    ["e2e/fixtures/flows.ts:sleepy", "sleepy"],
    ["e2e/fixtures/flows.ts:broken", "broken"],
    ["e2e/fixtures/flows.ts:vanishes", "vanishes"],
  ]);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const workerEnv = () => fastWorkerEnv(server);
/** The pid a process run's infrastructure id names ("<host identity>:<pid>"). */
const pidOf = (id: string | null) => Number(id!.slice(id!.lastIndexOf(":") + 1));

describe("process work pool", () => {
  it("runs a deployed flow on a separate worker process to COMPLETED, with its logs", async () => {
    await withWorker(["--pool", pool, "--name", "w-main"], workerEnv(), (worker) =>
      expectHelloCompleted(server, worker, "w-main"),
    );
  }, 60_000);

  it("ends a run whose process exits without a final state CRASHED with the exit code", async () => {
    const { run } = await runDeploymentOnce(server, pool, workerEnv(), { name: "vanishes/vanishes" });
    expect(run.state.type).toBe("CRASHED");
    expect(run.state.message).toContain("exited with code 3");
    const logs = await server.api.logs.list.query({ flowRunId: run.id });
    expect(logs.map((l) => l.message)).toContain("about to exit abruptly");
  }, 60_000);

  it("reports a failing flow FAILED with its error, and --watch exits non-zero", async () => {
    await withWorker(["--pool", pool], workerEnv(), async () => {
      const watched = await runCli(["deployment", "run", "broken/broken", "--watch", "--json"], server.env);
      expect(watched.code).not.toBe(0);
      const run = JSON.parse(watched.stdout) as { state: { type: string; message: string } };
      expect(run.state.type).toBe("FAILED");
      expect(run.state.message).toContain("the warehouse is on fire");
    });
  }, 60_000);

  it("cancels a running flow: the process is stopped and the run ends CANCELLED", async () => {
    await withWorker(["--pool", pool], workerEnv(), async () => {
      const run = await server.api.deployments.run.mutate({ name: "sleepy/sleepy", parameters: { seconds: 60 } });
      const pid = pidOf((await waitUntilRunning(server, run.id)).infrastructureId);
      expect(processAlive(pid)).toBe(true);
      const { final, lastStates } = await cancelWithCli(server, run.id, 20_000);
      expect(final.state.type).toBe("CANCELLED");
      await waitFor("the run's process to be gone", async () => !processAlive(pid), 10_000);
      expect(lastStates).toEqual(["CANCELLING", "CANCELLED"]);
      // The runner got SIGTERM, ran the flow's onCancellation hook and delivered its log line.
      const logs = await server.api.logs.list.query({ flowRunId: run.id });
      expect(logs.map((l) => l.message)).toContain("cleanup after CANCELLED");
    });
  }, 60_000);

  it("crashes and retries a run whose worker is killed with SIGKILL mid-run", async () => {
    const doomed = spawnCli(["worker", "start", "--pool", pool, "--name", "doomed"], workerEnv());
    const run = await server.api.deployments.run.mutate({ name: "sleepy/sleepy", parameters: { seconds: 2 } });
    const running = await waitUntilRunning(server, run.id);
    doomed.kill("SIGKILL");
    await exited(doomed);
    // The run's process notices its worker is gone and exits; its heartbeats stop.
    await waitFor(
      "the orphaned run process to exit",
      async () => !processAlive(pidOf(running.infrastructureId)),
      10_000,
    );
    const rescheduled = await waitForState(server, run.id, "SCHEDULED", 15_000, "rescheduled for a retry");
    expect(rescheduled.state.name).toBe("AwaitingRetry");
    await withWorker(["--pool", pool, "--name", "rescuer"], workerEnv(), async () => {
      const final = await waitForState(server, run.id, "COMPLETED", 30_000, "COMPLETED again (the retry)");
      expect(final.runCount).toBe(2);
      expect(final.workerName).toBe("rescuer");
      const history = (await server.api.flowRuns.history.query({ id: run.id })).map((s) => `${s.type}:${s.name}`);
      expect(history).toContain("CRASHED:Crashed");
      expect(history.indexOf("SCHEDULED:AwaitingRetry")).toBeGreaterThan(history.indexOf("CRASHED:Crashed"));
      // The dead worker is marked offline by the server's liveness service.
      const workers = await server.api.workers.list.query({ workPoolName: pool });
      expect(workers.find((w) => w.name === "doomed")?.status).toBe("OFFLINE");
    });
  }, 90_000);
});

describe("fenced claims with real processes", () => {
  it("stops a zombie runner whose run was crashed and handed to another worker; its late reports are refused (regression: a zombie's COMPLETED replaced the live attempt's)", async () => {
    const zombieWorker = spawnCli(["worker", "start", "--pool", pool, "--name", "zombie", "--limit", "1"], workerEnv());
    let liveWorker: ReturnType<typeof spawnCli> | null = null;
    let frozenPid: number | null = null;
    try {
      const run = await server.api.deployments.run.mutate({ name: "sleepy/sleepy", parameters: { seconds: 4 } });
      const first = await waitFor("the first attempt to be RUNNING", async () => {
        const r = await server.api.flowRuns.get.query({ id: run.id });
        return r.state.type === "RUNNING" && r.infrastructureId ? r : null;
      });
      // Freeze the first attempt's runner: its heartbeats stop, the server crashes the run and
      // schedules the retry, which a second worker claims (the frozen one has no free slot).
      frozenPid = pidOf(first.infrastructureId);
      process.kill(frozenPid, "SIGSTOP");
      await waitFor(
        "the silent attempt to be crashed and retried",
        async () => (await server.api.flowRuns.get.query({ id: run.id })).state.name === "AwaitingRetry",
        15_000,
      );
      liveWorker = spawnCli(["worker", "start", "--pool", pool, "--name", "live"], workerEnv());
      await waitFor("the retry to be RUNNING on the live worker", async () => {
        const r = await server.api.flowRuns.get.query({ id: run.id });
        return r.state.type === "RUNNING" && r.runCount === 2 && r.workerName === "live" ? r : null;
      });
      // The zombie wakes up: its next heartbeat is refused and the runner stops itself.
      process.kill(frozenPid, "SIGCONT");
      const zombiePid = frozenPid;
      frozenPid = null;
      await waitFor("the zombie runner to stop itself", async () => !processAlive(zombiePid), 15_000);
      const final = await waitFor(
        "the live attempt to complete",
        async () => {
          const r = await server.api.flowRuns.get.query({ id: run.id });
          return r.state.type === "COMPLETED" ? r : null;
        },
        30_000,
      );
      expect(final.workerName).toBe("live");
      expect(final.runCount).toBe(2);
      const history = (await server.api.flowRuns.history.query({ id: run.id })).map((s) => `${s.type}:${s.name}`);
      // Nothing the zombie reported after the crash reached the run: one crash, then the live attempt.
      expect(history.slice(history.indexOf("CRASHED:Crashed"))).toEqual([
        "CRASHED:Crashed",
        "SCHEDULED:AwaitingRetry",
        "PENDING:Pending",
        "RUNNING:Running",
        "COMPLETED:Completed",
      ]);
      const logs = await server.api.logs.list.query({ flowRunId: run.id });
      expect(logs.some((l) => /is no longer this attempt's/.test(l.message))).toBe(true);
    } finally {
      if (frozenPid !== null) process.kill(frozenPid, "SIGCONT");
      zombieWorker.kill("SIGTERM");
      liveWorker?.kill("SIGTERM");
      await exited(zombieWorker);
      if (liveWorker) await exited(liveWorker);
    }
  }, 120_000);

  it("keeps a healthy run alive when only the server's heartbeat timeout is set (regression: a timeout below the SDK's own 15 s interval crashed healthy runs)", async () => {
    // No FLOWPLANE_RUN_HEARTBEAT_SECONDS anywhere: the server (timeout 3 s) tells the run its interval.
    const { FLOWPLANE_RUN_HEARTBEAT_SECONDS: _unset, ...env } = workerEnv();
    const worker = spawnCli(["worker", "start", "--pool", pool, "--name", "told-interval"], env);
    try {
      const run = await server.api.deployments.run.mutate({ name: "sleepy/sleepy", parameters: { seconds: 5 } });
      const final = await waitFor(
        "the run to finish",
        async () => {
          const r = await server.api.flowRuns.get.query({ id: run.id });
          return r.state.type === "COMPLETED" || r.state.type === "CRASHED" || r.state.type === "FAILED" ? r : null;
        },
        60_000,
      );
      expect(final.state.type).toBe("COMPLETED");
      expect(final.runCount).toBe(1);
    } finally {
      worker.kill("SIGTERM");
      await exited(worker);
    }
  }, 90_000);
});

describe("least-privilege run credentials", () => {
  it("a job command echoing $FLOWPLANE_API_KEY and the worker's env prints neither; the run completes on its own token (regression: a READ key read the worker's ADMIN key from the run's logs)", async () => {
    const workerSecret = "worker-only-s3cret-value";
    const readKey = (await server.api.apiKeys.create.mutate({ name: "log reader", scope: "READ" })).key;
    const reader = createApiClient({ apiUrl: server.url, apiKey: readKey, workspace: null });
    // A developer's job variables: a command that prints what it can find, then runs the runner.
    await server.api.deployments.upsert.mutate({
      flowName: "hello",
      name: "nosy",
      entrypoint: "examples/hello.ts:hello",
      workPoolName: pool,
      path: repoRoot,
      jobVariables: {
        command: [
          "sh",
          "-c",
          'echo "api key=[$FLOWPLANE_API_KEY] worker secret=[$WORKER_ONLY_SECRET] template=[$TEMPLATE_VAR] token=[${FLOWPLANE_RUN_TOKEN:+present}]"; exec "$@"',
          "sh",
          ...runnerCommand(),
        ],
        env: { TEMPLATE_VAR: "from-the-template" },
      },
    });
    const worker = spawnCli(["worker", "start", "--pool", pool, "--name", "w-nosy"], {
      ...workerEnv(),
      WORKER_ONLY_SECRET: workerSecret,
    });
    try {
      const run = await server.api.deployments.run.mutate({ name: "hello/nosy", parameters: { n: 3 } });
      const final = await waitForRun(server, run.id, "finished", (r) => isTerminal(r.state.type as StateType), 60_000);
      expect(final.state.type, outputOf(worker)).toBe("COMPLETED");
      const lines = (await reader.logs.list.query({ flowRunId: run.id })).map((l) => l.message);
      expect(lines).toContain("api key=[] worker secret=[] template=[from-the-template] token=[present]");
      const all = lines.join("\n");
      expect(all).not.toContain(server.adminKey);
      expect(all).not.toContain(workerSecret);
      // States, logs and task runs were recorded with the run's token.
      expect(lines).toContain("total is 3");
      const taskRuns = await reader.taskRuns.list.query({ flowRunId: run.id });
      expect(taskRuns).toHaveLength(3);
      expect(taskRuns.every((t) => t.stateType === "COMPLETED")).toBe(true);
      const history = (await reader.flowRuns.history.query({ id: run.id })).map((s) => s.type);
      expect(history).toEqual(["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"]);
    } finally {
      worker.kill("SIGTERM");
      await exited(worker);
    }
  }, 90_000);
});
