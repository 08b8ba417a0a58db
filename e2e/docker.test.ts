// The docker pool end to end: the real CLI, a real worker process, and the real Docker engine
// (scripts/docker-engine.sh). The flow run's container uses the host network to reach the test
// server on 127.0.0.1 and sees this repository at its own path through a bind mount, where its
// `node` runs the repository's runner. Without an engine these tests fail rather than skip.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cancelWithCli,
  exited,
  outputOf,
  repoRoot,
  runCli,
  spawnCli,
  startTestServer,
  waitFor,
  waitForRun,
  type TestServer,
} from "./harness.ts";

const IMAGE = process.env.FLOWPLANE_TEST_IMAGE ?? "flowplane-node:test";
const pool = "e2e-docker";
let server: TestServer;

// The docker CLI (installed with the engine) keeps this test independent of the worker's client.
async function dockerCli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)("docker", args);
  return stdout.trim();
}

const workerEnv = () => ({
  ...server.env,
  FLOWPLANE_WORKER_HEARTBEAT_SECONDS: "1",
  FLOWPLANE_RUN_HEARTBEAT_SECONDS: "0.5",
  FLOWPLANE_STOP_GRACE_SECONDS: "2",
});
const containersOf = async (runId: string) =>
  (await dockerCli("ps", "--all", "--quiet", "--filter", `label=flowplane.run-id=${runId}`))
    .split("\n")
    .filter(Boolean);

beforeAll(async () => {
  try {
    await dockerCli("image", "inspect", "--format", "{{.Id}}", IMAGE);
  } catch (err) {
    throw new Error(
      `the docker pool tests need an engine and the ${IMAGE} image (${(err as Error).message}); run \`bash scripts/docker-engine.sh\` first`,
    );
  }
  server = await startTestServer({ runHeartbeatTimeoutSeconds: 5, livenessIntervalMs: 300 });
  const created = await runCli(["work-pool", "create", pool, "--type", "docker", "--json"], server.env);
  expect(created.code, created.stderr).toBe(0);
  const container = [
    "--job-var",
    `image=${IMAGE}`,
    "--job-var",
    "image_pull_policy=never",
    "--job-var",
    `volumes=${JSON.stringify([`${repoRoot}:${repoRoot}`])}`,
  ];
  for (const [entrypoint, name, jobVars] of [
    ["examples/hello.ts:hello", "hello", container],
    ["e2e/fixtures/flows.ts:sleepy", "sleepy", container],
    [
      "examples/hello.ts:hello",
      "missing-image",
      ["--job-var", "image=flowplane-missing:nope", "--job-var", "image_pull_policy=never"],
    ],
  ] as const) {
    const deployed = await runCli(
      ["deploy", entrypoint, "--name", name, "--pool", pool, ...jobVars, "--json"],
      server.env,
      { cwd: repoRoot },
    );
    expect(deployed.code, deployed.stderr).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe("docker work pool", () => {
  it("runs a deployed flow in a container to COMPLETED, with its logs, and removes the container", async () => {
    const worker = spawnCli(["worker", "start", "--pool", pool, "--name", "w-docker"], workerEnv());
    try {
      const watched = await runCli(
        ["deployment", "run", "hello/hello", "--param", "n=4", "--watch", "--json"],
        server.env,
        { timeoutMs: 90_000 },
      );
      expect(watched.code, `${watched.stderr}\nworker:\n${outputOf(worker)}`).toBe(0);
      const run = JSON.parse(watched.stdout) as {
        id: string;
        state: { type: string };
        workerName: string | null;
        infrastructureId: string | null;
      };
      expect(run.state.type).toBe("COMPLETED");
      expect(run.workerName).toBe("w-docker");
      expect(run.infrastructureId).toMatch(/^[0-9a-f]{64}$/);
      const logs = await runCli(["flow-run", "logs", run.id, "--json"], server.env);
      const lines = (JSON.parse(logs.stdout) as { message: string }[]).map((l) => l.message);
      expect(lines).toContain("total is 6");
      expect(lines.filter((l) => l === "printed line")).toHaveLength(1);
      const taskRuns = await server.api.taskRuns.list.query({ flowRunId: run.id });
      expect(taskRuns.map((t) => t.stateType)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"]);
      await waitFor("the run's container to be removed", async () => (await containersOf(run.id)).length === 0, 10_000);
    } finally {
      worker.kill("SIGTERM");
      await exited(worker);
    }
  }, 120_000);

  it("cancels a run mid-flight: the container is stopped, the run ends CANCELLED, and no container is left", async () => {
    const worker = spawnCli(["worker", "start", "--pool", pool, "--name", "w-docker-cancel"], workerEnv());
    try {
      const run = await server.api.deployments.run.mutate({ name: "sleepy/sleepy", parameters: { seconds: 60 } });
      const running = await waitForRun(
        server,
        run.id,
        "RUNNING in its container",
        (r) => r.state.type === "RUNNING" && r.infrastructureId,
        60_000,
      );
      expect(await dockerCli("inspect", "--format", "{{.State.Running}}", running.infrastructureId!)).toBe("true");
      const { final, lastStates } = await cancelWithCli(server, run.id, 30_000);
      expect(final.state.type).toBe("CANCELLED");
      // The runner reports CANCELLED on SIGTERM before its container has exited and been removed;
      // the worker removes it after reading its exit (as in the first test, allow it a moment).
      await waitFor("the run's container to be removed", async () => (await containersOf(run.id)).length === 0, 10_000);
      expect(lastStates).toEqual(["CANCELLING", "CANCELLED"]);
    } finally {
      worker.kill("SIGTERM");
      await exited(worker);
    }
  }, 120_000);

  it("ends a run whose image does not exist CRASHED, naming the image", async () => {
    const run = await server.api.deployments.run.mutate({ name: "hello/missing-image" });
    const worker = spawnCli(["worker", "start", "--pool", pool, "--run-once"], workerEnv());
    expect(await exited(worker), outputOf(worker)).toBe(0);
    const final = await server.api.flowRuns.get.query({ id: run.id });
    expect(final.state.type).toBe("CRASHED");
    expect(final.state.message).toBe(
      'infrastructure could not start: image "flowplane-missing:nope" is not present on the Docker engine and image_pull_policy is "never"; build or load it there first',
    );
    const logs = await server.api.logs.list.query({ flowRunId: run.id });
    expect(logs.map((l) => l.message)).toContain(
      `Flowplane worker could not start this run: ${final.state.message!.replace("infrastructure could not start: ", "")}`,
    );
  }, 60_000);
});
