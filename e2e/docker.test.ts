// The docker pool end to end: the real CLI, a real worker process, the real Docker engine
// (infra/docker/docker-engine.sh), and the flowplane/flowplane image built from this run's release tarballs
// (e2e/support/release.ts), so each flow run executes what users install: the image's runner and SDK,
// with the flow files mounted under its /app. The container uses the host network to reach the test
// server on 127.0.0.1. Without an engine these tests fail rather than skip.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cancelWithCli,
  deployToNewPool,
  expectHelloCompleted,
  fastWorkerEnv,
  runDeploymentOnce,
  startTestServer,
  waitFor,
  waitUntilRunning,
  withWorker,
  type TestServer,
} from "./harness.ts";
import { releaseWorkerImage, workerImageJobVars } from "./support/release.ts";

const pool = "e2e-docker";
let server: TestServer;

// The docker CLI (installed with the engine) keeps this test independent of the worker's client.
async function dockerCli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)("docker", args);
  return stdout.trim();
}

const workerEnv = () => fastWorkerEnv(server);
const containersOf = async (runId: string) =>
  (await dockerCli("ps", "--all", "--quiet", "--filter", `label=flowplane.run-id=${runId}`))
    .split("\n")
    .filter(Boolean);

beforeAll(async () => {
  try {
    await dockerCli("info", "--format", "{{.ServerVersion}}");
  } catch (err) {
    throw new Error(
      `the docker pool tests need an engine (${(err as Error).message}); run \`bash infra/docker/docker-engine.sh\` first`,
    );
  }
  const image = await releaseWorkerImage();
  server = await startTestServer({ runHeartbeatTimeoutSeconds: 5, livenessIntervalMs: 300 });
  const inImage = workerImageJobVars(image, ["examples/hello.ts", "e2e/fixtures/flows.ts"]);
  await deployToNewPool(server, pool, "docker", [
    ["examples/hello.ts:hello", "hello", inImage],
    ["e2e/fixtures/flows.ts:sleepy", "sleepy", inImage],
    [
      "examples/hello.ts:hello",
      "missing-image",
      ["--job-var", "image=flowplane-missing:nope", "--job-var", "image_pull_policy=never"],
    ],
  ]);
}, 900_000);

afterAll(async () => {
  await server?.close();
});

describe("docker work pool", () => {
  it("runs a deployed flow in a container to COMPLETED, with its logs, and removes the container", async () => {
    await withWorker(["--pool", pool, "--name", "w-docker"], workerEnv(), async (worker) => {
      const run = await expectHelloCompleted(server, worker, "w-docker", 90_000);
      // "<engine ID>/<container id>": a container id means something only on its engine.
      const { ID } = JSON.parse(await dockerCli("info", "--format", "{{json .}}")) as { ID: string };
      expect(run.infrastructureId).toBe(`${ID}/${run.infrastructureId!.slice(-64)}`);
      expect(run.infrastructureId).toMatch(/\/[0-9a-f]{64}$/);
      await waitFor("the run's container to be removed", async () => (await containersOf(run.id)).length === 0, 10_000);
    });
  }, 120_000);

  it("cancels a run mid-flight: the container is stopped, the run ends CANCELLED, and no container is left", async () => {
    await withWorker(["--pool", pool, "--name", "w-docker-cancel"], workerEnv(), async () => {
      const run = await server.api.deployments.run.mutate({ name: "sleepy/sleepy", parameters: { seconds: 60 } });
      const running = await waitUntilRunning(server, run.id, 60_000);
      expect(await dockerCli("inspect", "--format", "{{.State.Running}}", running.infrastructureId!.slice(-64))).toBe(
        "true",
      );
      const { final, lastStates } = await cancelWithCli(server, run.id, 30_000);
      expect(final.state.type).toBe("CANCELLED");
      // The runner reports CANCELLED on SIGTERM before its container has exited and been removed;
      // the worker removes it after reading its exit (as in the first test, allow it a moment).
      await waitFor("the run's container to be removed", async () => (await containersOf(run.id)).length === 0, 10_000);
      expect(lastStates).toEqual(["CANCELLING", "CANCELLED"]);
    });
  }, 120_000);

  it("ends a run whose image does not exist CRASHED, naming the image", async () => {
    const { run } = await runDeploymentOnce(server, pool, workerEnv(), { name: "hello/missing-image" });
    expect(run.state.type).toBe("CRASHED");
    expect(run.state.message).toBe(
      'infrastructure could not start: image "flowplane-missing:nope" is not present on the Docker engine and image_pull_policy is "never"; build or load it there first',
    );
    const logs = await server.api.logs.list.query({ flowRunId: run.id });
    expect(logs.map((l) => l.message)).toContain(
      `Flowplane worker could not start this run: ${run.state.message!.replace("infrastructure could not start: ", "")}`,
    );
  }, 60_000);
});
