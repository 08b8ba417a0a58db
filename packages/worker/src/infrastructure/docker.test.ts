// The docker pool against the real engine (infra/docker/docker-engine.sh starts one and builds the
// image). Without an engine these tests fail: CI installs one, and a skipped suite would hide that.
import http from "node:http";
import net from "node:net";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, waitForRun, type TestServer } from "../../../../e2e/harness.ts";
import { startRegistry, type Registry } from "../../../../e2e/support/registry.ts";
import { DockerInfrastructure, dockerJobSettings, parseMemory } from "./docker.ts";
import { cancelHeardElsewhere, createPool, HEARD_ELSEWHERE, runLogs, startWorker } from "./fakes/scenarios.ts";
import { JobElsewhereError, type JobSpec } from "./types.ts";

const IMAGE = process.env.FLOWPLANE_TEST_IMAGE ?? "flowplane-node:test";
const here = path.dirname(fileURLToPath(import.meta.url));
const docker = new Docker();
// Failing pulls are retried 50 ms apart here rather than 5 s.
const infra = new DockerInfrastructure({ docker, pullRetryDelayMs: 50 });
// Every container of this file carries this label, so afterAll can remove what a failure left.
const testLabel = `docker-test-${process.pid}`;

function jobSpec(
  configuration: Record<string, unknown>,
  overrides: Partial<JobSpec> = {},
): JobSpec & { lines: string[] } {
  const lines: string[] = [];
  const runId = overrides.flowRunId ?? `run-${Math.random().toString(36).slice(2, 8)}`;
  return {
    flowRunId: runId,
    flowRunName: "crimson-otter",
    configuration: { image: IMAGE, image_pull_policy: "never", ...configuration },
    env: { FLOWPLANE_FLOW_RUN_ID: runId },
    defaultCommand: ["/usr/bin/node", "--import", "file:///x/tsx.mjs", "/x/runner-main.ts"],
    labels: { "flowplane.run-id": runId, "flowplane.worker": testLabel },
    onOutput: (line, stream) => lines.push(`${stream}: ${line}`),
    ...overrides,
    lines,
  };
}

const nodeCommand = (code: string) => ["node", "-e", code];

/** The container an id names, once checked that the id names this engine ("<engine ID>/<container id>"). */
async function containerOf(id: string): Promise<Docker.Container> {
  const { ID } = (await docker.info()) as { ID: string };
  expect(id).toMatch(/^.+\/[0-9a-f]{64}$/);
  expect(id.slice(0, id.lastIndexOf("/"))).toBe(ID);
  return docker.getContainer(id.slice(id.lastIndexOf("/") + 1));
}

async function containersOf(runId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`flowplane.run-id=${runId}`] } });
}

/**
 * The real engine behind a loopback proxy that never answers a container start (an engine that
 * hangs there): everything else, attach's hijacked stream included, goes through.
 */
async function engineWithStalledStarts(): Promise<{ docker: Docker; close(): Promise<void> }> {
  const socketPath = "/var/run/docker.sock";
  const server = http.createServer((req, res) => {
    if (req.method === "POST" && /\/containers\/[^/]+\/start$/.test(req.url!.split("?")[0]!)) return;
    const upstream = http.request({ socketPath, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  // Hijacked connections are no longer the HTTP server's: close() ends them itself.
  const hijacked = new Set<net.Socket>();
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const upstream = net.connect(socketPath, () => {
      const headers = Object.entries(req.headers).map(([k, v]) => `${k}: ${[v].flat().join(", ")}\r\n`);
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join("")}\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    hijacked.add(socket).add(upstream);
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    docker: new Docker({ host: "127.0.0.1", port, protocol: "http" }),
    async close() {
      server.closeAllConnections();
      for (const socket of hijacked) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

beforeAll(async () => {
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(
      `no Docker engine answers (${(err as Error).message}); run \`bash infra/docker/docker-engine.sh\` first`,
    );
  }
  await docker
    .getImage(IMAGE)
    .inspect()
    .catch(() => {
      throw new Error(`image ${IMAGE} is missing; run \`bash infra/docker/docker-engine.sh\` first`);
    });
});

afterAll(async () => {
  await infra.cleanupOrphans({ "flowplane.worker": testLabel });
});

describe("docker job settings", () => {
  it("merges env and labels over the configuration and leaves the command to the image", () => {
    const job = jobSpec({
      env: { STAGE: "prod", FLOWPLANE_FLOW_RUN_ID: "spoofed", GONE: null },
      labels: { team: "data", "flowplane.worker": "spoofed" },
    });
    const s = dockerJobSettings(job);
    // No Cmd: the image's own CMD (the flowplane image's runner), never the worker's runner path,
    // which means nothing inside the container.
    expect(s.create).not.toHaveProperty("Cmd");
    expect(s.create.Env).toEqual([
      `STAGE=prod`,
      `FLOWPLANE_FLOW_RUN_ID=${job.flowRunId}`,
      "FLOWPLANE_EXIT_WITH_PARENT=1",
    ]);
    expect(s.create.Labels).toEqual({ team: "data", "flowplane.run-id": job.flowRunId, "flowplane.worker": testLabel });
    expect(s.create.HostConfig).toMatchObject({ NetworkMode: "host", Binds: [], AutoRemove: false });
    expect(s.create.HostConfig).not.toHaveProperty("Memory");
    expect(s.create.name).toMatch(/^flowplane-crimson-otter-[0-9a-f]{6}$/);
    expect(s).toMatchObject({ image: IMAGE, pullPolicy: "never", autoRemove: true, streamOutput: true });
  });

  it("maps limits, volumes, network mode and a string command", () => {
    const s = dockerJobSettings(
      jobSpec({
        mem_limit: "512m",
        cpus: 1.5,
        volumes: ["/srv/data:/data:ro"],
        network_mode: "bridge",
        command: "python -c 'print(1)'",
      }),
    );
    expect(s.create.HostConfig).toMatchObject({
      Memory: 512 * 1024 * 1024,
      NanoCpus: 1_500_000_000,
      Binds: ["/srv/data:/data:ro"],
      NetworkMode: "bridge",
    });
    expect(s.create.Cmd).toEqual(["python", "-c", "print(1)"]);
  });

  it("uses the deployment's directory as working directory only when a volume brings it into the container", () => {
    expect(
      dockerJobSettings(jobSpec({ working_dir: "/work/app/flows", volumes: ["/work/app:/work/app"] })).create
        .WorkingDir,
    ).toBe("/work/app/flows");
    expect(
      dockerJobSettings(jobSpec({ working_dir: "/work/application", volumes: ["/work/app:/work/app"] })).create,
    ).not.toHaveProperty("WorkingDir");
    expect(dockerJobSettings(jobSpec({ working_dir: "/home/me/project" })).create).not.toHaveProperty("WorkingDir");
  });

  it("takes the start deadline from start_timeout_seconds, refusing one that is not positive", () => {
    expect(dockerJobSettings(jobSpec({ start_timeout_seconds: 45 })).startTimeoutMs).toBe(45_000);
    expect(dockerJobSettings(jobSpec({})).startTimeoutMs).toBeNull();
    expect(() => dockerJobSettings(jobSpec({ start_timeout_seconds: 0 }))).toThrow(
      'job configuration "start_timeout_seconds": expected a number > 0, got 0',
    );
  });

  it("names the configuration key at fault", () => {
    expect(() => dockerJobSettings(jobSpec({ mem_limit: "lots" }))).toThrow(
      'job configuration "mem_limit": expected a size such as "512m" or "2g", got "lots"',
    );
    expect(() => dockerJobSettings(jobSpec({ volumes: ["/data"] }))).toThrow(
      'job configuration "volumes": expected "source:/container/path"',
    );
    expect(() => dockerJobSettings(jobSpec({ image_pull_policy: "IfNotPresent" }))).toThrow(
      'job configuration "image_pull_policy": expected one of "never", "if-not-present", "always", got "IfNotPresent"',
    );
    expect(() => dockerJobSettings(jobSpec({ command: "node 'unterminated" }))).toThrow(
      'job configuration "command": unterminated',
    );
    expect(parseMemory("2g")).toBe(2 * 1024 ** 3);
    expect(parseMemory("1048576")).toBe(1048576);
  });
});

describe("docker infrastructure on the real engine", () => {
  it("runs a container: both output streams, env, labels, exit code; auto-remove leaves nothing", async () => {
    const job = jobSpec({
      command: nodeCommand(
        "console.log('hello from', process.env.STAGE); console.error('a warning'); console.log(process.cwd()); process.exit(3)",
      ),
      env: { STAGE: "prod" },
      labels: { team: "data" },
    });
    const running = await infra.submit(job);
    const info = await (await containerOf(running.id)).inspect();
    expect(info.Config.Labels).toMatchObject({
      team: "data",
      "flowplane.run-id": job.flowRunId,
      "flowplane.worker": testLabel,
    });
    expect(info.HostConfig.NetworkMode).toBe("host");
    // An exit with an error carries the container's last lines, in the order they came.
    const exit = await running.exited;
    const last = job.lines.map((l) => JSON.stringify(l.replace(/^std(out|err): /, ""))).join(" | ");
    expect(exit).toEqual({
      exitCode: 3,
      reason: `exited with code 3 (last output: ${last})`,
      stopped: false,
    });
    // Each stream keeps its order; how the two interleave depends on scheduling.
    expect(job.lines.filter((l) => l.startsWith("stdout"))).toEqual(["stdout: hello from prod", "stdout: /"]);
    expect(job.lines.filter((l) => l.startsWith("stderr"))).toEqual(["stderr: a warning"]);
    expect(await containersOf(job.flowRunId)).toEqual([]);
  });

  it("runs the image's own CMD when the job sets no command", async () => {
    // An image whose CMD says so, committed from the test image (no build, no registry).
    const tagged = `flowplane-test-cmd:${process.pid}`;
    const base = await docker.createContainer({ Image: IMAGE, Labels: { "flowplane.worker": testLabel } });
    await base.commit({
      repo: tagged.split(":")[0],
      tag: tagged.split(":")[1],
      changes: `CMD ["node", "-e", "console.log('the image CMD ran in', process.cwd())"]`,
    });
    await base.remove();
    try {
      const job = jobSpec({ image: tagged });
      const running = await infra.submit(job);
      expect(await running.exited).toEqual({ exitCode: 0, reason: "exited with code 0", stopped: false });
      expect(job.lines).toEqual(["stdout: the image CMD ran in /"]);
    } finally {
      await docker.getImage(tagged).remove({ force: true });
    }
  });

  it("keeps the container when auto_remove is false, with its limits and mounts", async () => {
    const job = jobSpec({
      command: nodeCommand("console.log(require('fs').readdirSync('/mnt/here').includes('docker.test.ts'))"),
      auto_remove: false,
      mem_limit: "256m",
      cpus: 0.5,
      volumes: [`${here}:/mnt/here:ro`],
    });
    const running = await infra.submit(job);
    expect((await running.exited).exitCode).toBe(0);
    expect(job.lines).toEqual(["stdout: true"]);
    const [kept] = await containersOf(job.flowRunId);
    const info = await docker.getContainer(kept!.Id).inspect();
    expect(info.State.Status).toBe("exited");
    expect(info.HostConfig).toMatchObject({
      Memory: 256 * 1024 * 1024,
      NanoCpus: 500_000_000,
      Binds: [`${here}:/mnt/here:ro`],
    });
    await docker.getContainer(kept!.Id).remove();
  });

  it("reports a container killed for memory as OOMKilled", async () => {
    const job = jobSpec({
      command: nodeCommand("const a = []; for (;;) a.push(Buffer.alloc(1e6, 1))"),
      mem_limit: "64m",
    });
    const running = await infra.submit(job);
    expect(await running.exited).toEqual({ exitCode: 137, reason: "OOMKilled", stopped: false });
  });

  it("stop(): stops the container within the grace period, reports it stopped, and removes it", async () => {
    const job = jobSpec({ command: nodeCommand("console.log('started'); setInterval(() => {}, 1000)") });
    const running = await infra.submit(job);
    const started = Date.now();
    await running.stop(1_000);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await running.exited).toMatchObject({ exitCode: 137, stopped: true });
    expect(await containersOf(job.flowRunId)).toEqual([]);
  });

  it("refuses a missing image with pull policy never, naming the image", async () => {
    await expect(infra.submit(jobSpec({ image: "flowplane-missing:nope" }))).rejects.toThrow(
      'image "flowplane-missing:nope" is not present on the Docker engine and image_pull_policy is "never"',
    );
  });

  it("rejects a command that cannot start, naming it, and leaves no container", async () => {
    const job = jobSpec({ command: ["/no/such/binary", "--flag"] });
    await expect(infra.submit(job)).rejects.toThrow(
      /the container from image "flowplane-node:test" failed to start: .*\/no\/such\/binary.*no such file or directory/,
    );
    expect(await containersOf(job.flowRunId)).toEqual([]);
  });

  // The registries below are on loopback where nothing listens: the pull fails at once, and no
  // traffic leaves the machine.
  it("pulls a missing image with if-not-present, and names the image when the pull fails", async () => {
    await expect(
      infra.submit(jobSpec({ image: "127.0.0.1:9/flowplane/missing:1", image_pull_policy: "if-not-present" })),
    ).rejects.toThrow(
      /could not pull image "127.0.0.1:9\/flowplane\/missing:1": .*connection refused \(tried 3 times\)$/,
    );
  });

  it("a container that never starts (a registry that accepts and never answers) ends within startTimeoutMs, saying what it waited for", async () => {
    const silent = net.createServer(() => {}).listen(0, "127.0.0.1");
    await new Promise((r) => silent.once("listening", r));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const started = Date.now();
      await expect(
        new DockerInfrastructure({ startTimeoutMs: 1_500 }).submit(
          jobSpec({ image: `127.0.0.1:${port}/flowplane/never:1`, image_pull_policy: "always" }),
        ),
      ).rejects.toThrow(
        `the container from image "127.0.0.1:${port}/flowplane/never:1" did not start within 1.5 s (still pulling image "127.0.0.1:${port}/flowplane/never:1")`,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silent.close();
    }
  });

  it("a container still not running at the deadline (an engine whose start never answers) is removed, and the run ends with its state", async () => {
    const engine = await engineWithStalledStarts();
    try {
      const job = jobSpec({ command: nodeCommand("") });
      const started = Date.now();
      await expect(
        new DockerInfrastructure({ docker: engine.docker, startTimeoutMs: 1_500 }).submit(job),
      ).rejects.toThrow(
        /^the container from image "flowplane-node:test" did not start within 1.5 s \(still starting the container; container [0-9a-f]{12} is created\)$/,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect.poll(() => containersOf(job.flowRunId), { timeout: 10_000 }).toEqual([]);
    } finally {
      await engine.close();
    }
  });

  it("pulls with always even when the image is present", async () => {
    const tagged = "127.0.0.1:9/flowplane/present:test";
    const [repo, tag] = ["127.0.0.1:9/flowplane/present", "test"];
    await docker.getImage(IMAGE).tag({ repo, tag });
    try {
      await expect(
        infra
          .submit(jobSpec({ image: tagged, image_pull_policy: "if-not-present", command: nodeCommand("") }))
          .then((j) => j.exited),
      ).resolves.toMatchObject({ exitCode: 0 });
      await expect(infra.submit(jobSpec({ image: tagged, image_pull_policy: "always" }))).rejects.toThrow(
        `could not pull image "${tagged}"`,
      );
    } finally {
      await docker.getImage(tagged).remove();
    }
  });

  it("a worker killed mid-run takes its container down; cleanupOrphans removes what it left", async () => {
    const worker = `doomed-${process.pid}`;
    const runId = `orphan-${process.pid}`;
    // A separate process plays the worker: it submits a job whose runner waits on stdin, then dies.
    const require = createRequire(import.meta.url);
    const tsx = new URL(`file://${require.resolve("tsx/esm", { paths: [path.resolve(here, "../../../sdk")] })}`).href;
    const script = `
      import { DockerInfrastructure } from ${JSON.stringify(path.join(here, "docker.ts"))};
      const job = await new DockerInfrastructure().submit({
        flowRunId: ${JSON.stringify(runId)}, flowRunName: "orphan", env: {}, defaultCommand: [], onOutput() {},
        labels: { "flowplane.run-id": ${JSON.stringify(runId)}, "flowplane.worker": ${JSON.stringify(worker)} },
        configuration: { image: ${JSON.stringify(IMAGE)}, image_pull_policy: "never", auto_remove: true,
          command: ["node", "-e", "process.stdin.on('end', () => process.exit(137)); process.stdin.resume(); setInterval(() => {}, 1000)"] },
      });
      console.log(job.id);
      process.kill(process.pid, "SIGKILL");`;
    const child = spawn(process.execPath, ["--import", tsx, "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.once("exit", r));
    const container = await containerOf(out.trim());
    await expect.poll(async () => (await container.inspect()).State.Status, { timeout: 10_000 }).toBe("exited");
    const bystander = await infra.submit(jobSpec({ command: nodeCommand("setInterval(() => {}, 1000)") }));
    try {
      expect(await infra.cleanupOrphans({ "flowplane.worker": worker })).toBe(1);
      expect(await containersOf(runId)).toEqual([]);
      expect((await (await containerOf(bystander.id)).inspect()).State.Running).toBe(true);
    } finally {
      await bystander.stop(0);
    }
  });
});

/**
 * A worker whose engine is another one: its ids name engine "another-engine", and it lists none of
 * this engine's containers (as another engine would not; without that, its orphan search would
 * list them through the one engine this machine has).
 */
class AnotherEngine extends DockerInfrastructure {
  constructor() {
    super({ docker, engineId: "another-engine" });
  }
  override findJobs(): Promise<[]> {
    return Promise.resolve([]);
  }
}

describe("docker ids name their engine", () => {
  it("stop() refuses a container of another engine and leaves it running, and still reads a bare container id (stored before ids named their engine)", async () => {
    const job = jobSpec({ command: nodeCommand("setInterval(() => {}, 1000)") });
    const running = await infra.submit(job);
    const container = await containerOf(running.id);
    const { ID } = (await docker.info()) as { ID: string };
    const elsewhere = new DockerInfrastructure({ docker, engineId: "another-engine" });
    await expect(elsewhere.stop(running.id, 0)).rejects.toThrow(JobElsewhereError);
    await expect(elsewhere.stop(running.id, 0)).rejects.toThrow(
      `container ${container.id.slice(0, 12)} is on Docker engine ${ID}, not on this worker's engine another-engine`,
    );
    expect((await container.inspect()).State.Running).toBe(true);
    await infra.stop(container.id, 0);
    expect(await running.exited).toMatchObject({ exitCode: 137 });
    expect(await containersOf(job.flowRunId)).toEqual([]);
  });
});

describe("docker cancel heard on another engine", () => {
  let server: TestServer;
  beforeAll(async () => {
    // A worker silent for one heartbeat interval goes OFFLINE (a restart under a new name).
    server = await startTestServer({ missedWorkerHeartbeats: 1, livenessIntervalMs: 200 });
    await createPool(server, "docker-far", "docker", {
      long: { image: IMAGE, image_pull_policy: "never", command: nodeCommand("setInterval(() => {}, 1000)") },
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  for (const { how, names } of HEARD_ELSEWHERE)
    it(`${how} on another engine leaves the cancel: the container runs on and the run stays CANCELLING until a worker on its engine stops it (regression: the engine's 404 read as already gone, CANCELLED while the container ran on)`, async () => {
      await cancelHeardElsewhere(server, {
        poolName: "docker-far",
        deployment: "hello/long",
        names: names("docker"),
        here: () => new DockerInfrastructure({ docker }),
        elsewhere: () => new AnotherEngine(),
        running: async (id) =>
          (await containerOf(id)).inspect().then(
            (info) => info.State.Running,
            () => false,
          ),
        refusal: /^container [0-9a-f]{12} is on Docker engine \S+, not on this worker's engine another-engine$/,
      });
    });
});

describe("docker runs that never start end with the real reason within start_timeout_seconds, and the worker keeps serving", () => {
  let server: TestServer;
  let registry: Registry;
  const deadlineSeconds = 30;
  beforeAll(async () => {
    server = await startTestServer();
    // A real registry on loopback, which does not have the image: the engine's own "not found".
    registry = await startRegistry();
    const common = { image_pull_policy: "never", start_timeout_seconds: deadlineSeconds };
    await createPool(server, "docker-pool", "docker", {
      "missing-image": {
        ...common,
        image: `${registry.host}/flowplane/missing:1`,
        image_pull_policy: "if-not-present",
      },
      "missing-command": { ...common, image: IMAGE, command: ["/no/such/runner", "--flow"] },
      // Both lines on stderr: the order of lines across stdout and stderr is the scheduler's.
      "exits-at-once": {
        ...common,
        image: IMAGE,
        command: nodeCommand(
          "console.error('loading flows.ts'); console.error(\"Error: Cannot find module '/app/flows.ts'\"); process.exit(3)",
        ),
      },
      quick: { ...common, image: IMAGE, command: nodeCommand("") },
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await registry?.close();
  });

  it("an image that does not exist, a command that does not exist, a container that exits at once: each run CRASHED with its reason in its state and logs, within the deadline, and the same worker launches the next run", async () => {
    const worker = startWorker(server, {
      poolName: "docker-pool",
      name: testLabel,
      infrastructure: new DockerInfrastructure({ docker, pullRetryDelayMs: 100 }),
    });
    const crash = async (deployment: string) => {
      const started = Date.now();
      const run = await server.api.deployments.run.mutate({ name: `hello/${deployment}` });
      const final = await waitForRun(server, run.id, "CRASHED", (r) => r.state.type === "CRASHED", 60_000);
      const seconds = (Date.now() - started) / 1000;
      expect(seconds).toBeLessThan(deadlineSeconds);
      return { message: final.state.message ?? "", logs: await runLogs(server, run.id), seconds };
    };
    try {
      const image = `${registry.host}/flowplane/missing:1`;
      const missingImage = await crash("missing-image");
      // Tried three times (the default), then fatal with the engine's words.
      expect(missingImage.message).toMatch(
        new RegExp(
          `^infrastructure could not start: could not pull image "${image}": .*manifest unknown.* \\(tried 3 times\\)$`,
        ),
      );
      expect(
        missingImage.logs.filter((l) => l.startsWith(`Flowplane worker: pulling image "${image}" failed:`)),
      ).toHaveLength(2);
      expect(missingImage.logs.at(-1)).toBe(
        `Flowplane worker could not start this run: ${missingImage.message.replace("infrastructure could not start: ", "")}`,
      );

      const missingCommand = await crash("missing-command");
      expect(missingCommand.message).toMatch(
        /^infrastructure could not start: the container from image "flowplane-node:test" failed to start: .*\/no\/such\/runner.*no such file or directory/,
      );
      expect(missingCommand.logs.at(-1)).toContain("/no/such/runner");

      const exitsAtOnce = await crash("exits-at-once");
      expect(exitsAtOnce.message).toBe(
        `infrastructure exited with code 3 (last output: "loading flows.ts" | "Error: Cannot find module '/app/flows.ts'") without reporting a final state`,
      );
      expect(exitsAtOnce.logs).toEqual(
        expect.arrayContaining(["loading flows.ts", "Error: Cannot find module '/app/flows.ts'"]),
      );

      // Still serving: the next run is launched and watched to its end.
      const quick = await crash("quick");
      expect(quick.message).toBe("infrastructure exited with code 0 without reporting a final state");
      console.log(
        `docker never-start reasons: missing image ${missingImage.seconds} s, missing command ${missingCommand.seconds} s, exits at once ${exitsAtOnce.seconds} s, next run ${quick.seconds} s`,
      );
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
