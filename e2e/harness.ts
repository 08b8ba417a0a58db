// Shared scaffolding for cross-process tests: a real server on a fresh database, and helpers that
// run the real CLI (and so real workers and runners) as child processes.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { expect } from "vitest";
import { createApiClient, type ApiClient, type Connection } from "@flowplane/client";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { startServer, type RunningServer, type ServerConfig } from "@flowplane/server";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const tsxLoader = new URL(`file://${require.resolve("tsx/esm", { paths: [path.join(repoRoot, "packages/sdk")] })}`)
  .href;

export interface TestServer {
  server: RunningServer;
  db: TestDatabase;
  url: string;
  adminKey: string;
  home: string;
  /** The master key the server was started with (FLOWPLANE_MASTER_KEY); replicas need the same. */
  masterKey: string | null;
  connection: Connection;
  api: ApiClient;
  /** Environment for child processes (CLI, workers, runners) pointing at this server. */
  env: Record<string, string>;
  /** Stops the server only (the database stays), e.g. to simulate an outage. */
  stopServer(): Promise<void>;
  /** Starts the server again on the same database and port. */
  restartServer(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Benchmarks measure raw capacity: no per-key rate limit and no request scheduling between
 * workspaces (both on by default; e2e/bench/tenant-fairness.ts measures what they buy).
 */
export const benchmarkServerConfig: Partial<ServerConfig> = { rateLimitPerSecond: 0, requestConcurrency: 0 };
export const benchmarkServerEnv = { FLOWPLANE_RATE_LIMIT_PER_SECOND: "0", FLOWPLANE_REQUEST_CONCURRENCY: "0" };

export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const db = await createTestDatabase();
  const home = await mkdtemp(path.join(os.tmpdir(), "flowplane-e2e-"));
  const config: Partial<ServerConfig> = {
    databaseUrl: db.url,
    port: 0,
    host: "127.0.0.1",
    home,
    logLevel: process.env.FLOWPLANE_TEST_SERVER_LOG ?? "silent",
    livenessIntervalMs: 500,
    masterKey: randomBytes(32).toString("base64"),
    ...overrides,
  };
  let server = await startServer(config);
  const adminKey = server.createdAdminKey!;
  const url = server.url;
  const port = Number(new URL(url).port);
  const connection: Connection = { apiUrl: url, apiKey: adminKey, workspace: "default" };
  const env = {
    FLOWPLANE_HOME: home,
    FLOWPLANE_API_URL: url,
    FLOWPLANE_API_KEY: adminKey,
    FLOWPLANE_QUIET: "1",
    // Deploys from this repository run in place: a checkout with a remote (CI's clone) would
    // otherwise deploy a git_clone of a host the tests cannot reach. Code delivery tests (e2e/
    // delivery.test.ts) make their own repositories and leave this out.
    GIT_DIR: path.join(home, "no-git-repository"),
  };
  let running = true;
  const handle: TestServer = {
    get server() {
      return server;
    },
    db,
    url,
    adminKey,
    home,
    masterKey: config.masterKey ?? null,
    connection,
    api: createApiClient(connection),
    env,
    async stopServer() {
      if (!running) return;
      running = false;
      await server.close();
    },
    async restartServer() {
      if (running) return;
      server = await startServer({ ...config, port });
      running = true;
    },
    async close() {
      await handle.stopServer();
      await db.drop();
      await rm(home, { recursive: true, force: true });
    },
  };
  return handle;
}

/**
 * Creates process pool `poolName` with one deployment `flow/name` of examples/hello.ts:hello in it
 * (plus `options`), the setting of the claim and pickup scenarios; returns both as created.
 */
export async function createHelloPool(
  server: TestServer,
  poolName: string,
  qualifiedName: string,
  options: { concurrencyLimit?: number | null } = {},
) {
  const [flowName, name] = qualifiedName.split("/") as [string, string];
  const pool = await server.api.workPools.create.mutate({ name: poolName, type: "process" });
  const deployment = await server.api.deployments.upsert.mutate({
    flowName,
    name,
    entrypoint: "examples/hello.ts:hello",
    workPoolName: poolName,
    path: repoRoot,
    ...options,
  });
  return { pool, deployment };
}

/**
 * Creates pool `poolName` with a deployment and inserts `count` due SCHEDULED runs of it in one
 * statement (far faster than creating them through the API); returns the pool and deployment ids.
 */
export async function seedDueRuns(
  server: TestServer,
  poolName: string,
  count: number,
  deploymentConcurrency: number | null = null,
): Promise<{ workPoolId: string; deploymentId: string }> {
  const { pool, deployment: dep } = await createHelloPool(server, poolName, `flow-${poolName}/d`, {
    concurrencyLimit: deploymentConcurrency,
  });
  await server.db.pool.query(
    `INSERT INTO "FlowRun" (id, "workspaceId", "flowId", name, "deploymentId", "workPoolId", "workQueueId", "stateType", "stateName", "stateTimestamp",
                            "expectedStartTime", "nextScheduledTime", "updatedAt")
     SELECT gen_random_uuid(), d."workspaceId", d."flowId", 'run-' || g, d.id, d."workPoolId", d."workQueueId", 'SCHEDULED', 'Scheduled', now(), now() - interval '1 second', now() - interval '1 second', now()
       FROM "Deployment" d, generate_series(1, $2) g WHERE d.id = $1`,
    [dep.deploymentId, count],
  );
  await server.db.pool.query(`ANALYZE "FlowRun"`);
  return { workPoolId: pool.id, deploymentId: dep.deploymentId };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `flowplane ARGS` as a child process, as a user would. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  options: { cwd?: string; timeoutMs?: number; stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env, options.cwd, options.stdin !== undefined);
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`flowplane ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const outputs = new WeakMap<ChildProcess, { text: string }>();

/**
 * The runner command a worker started by spawnCli launches for each run (its Node with its flags,
 * and the runner bootstrap), for job templates that wrap it.
 */
export function runnerCommand(): string[] {
  return [
    process.execPath,
    "--conditions=@flowplane/source",
    "--import",
    tsxLoader,
    path.join(repoRoot, "packages/worker/src/runner-bootstrap.ts"),
  ];
}

/** Starts `flowplane ARGS` and returns the live child (for workers); see outputOf(). */
export function spawnCli(args: string[], env: Record<string, string>, cwd = repoRoot, pipeStdin = false): ChildProcess {
  const child = spawn(
    process.execPath,
    ["--conditions=@flowplane/source", "--import", tsxLoader, path.join(repoRoot, "packages/cli/src/main.ts"), ...args],
    {
      cwd,
      env: { ...process.env, ...env },
      stdio: [pipeStdin ? "pipe" : "ignore", "pipe", "pipe"],
    },
  );
  const out = { text: "" };
  outputs.set(child, out);
  child.stdout!.on("data", (d: Buffer) => (out.text += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out.text += d.toString()));
  return child;
}

/** Runs a TypeScript file as a plain Node script (tsx, no CLI), its output kept for outputOf(). */
export function spawnScript(file: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ["--import", tsxLoader, path.join(repoRoot, file), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = { text: "" };
  outputs.set(child, out);
  child.stdout!.on("data", (d: Buffer) => (out.text += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out.text += d.toString()));
  return child;
}

/** Everything a spawned child printed so far (for failure messages). */
export function outputOf(child: ChildProcess): string {
  return outputs.get(child)?.text ?? "";
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

type FlowRun = Awaited<ReturnType<ApiClient["flowRuns"]["get"]["query"]>>;

/** Waits until run `id`, read through the API, satisfies `done`; answers the run as read then. */
export function waitForRun(
  server: TestServer,
  id: string,
  what: string,
  done: (run: FlowRun) => unknown,
  timeoutMs?: number,
): Promise<FlowRun> {
  return waitFor(
    `the run to be ${what}`,
    async () => {
      const run = await server.api.flowRuns.get.query({ id });
      return done(run) ? run : null;
    },
    timeoutMs,
  );
}

/** Waits until run `id` is in state `type` (`what` says why, for the timeout message); answers the run then. */
export function waitForState(
  server: TestServer,
  id: string,
  type: string,
  timeoutMs?: number,
  what = type,
): Promise<FlowRun> {
  return waitForRun(server, id, what, (r) => r.state.type === type, timeoutMs);
}

/**
 * Cancels run `id` as a user does (`flowplane flow-run cancel ID`) and waits until it is
 * CANCELLED; answers the run then and the types of its last two states.
 */
export async function cancelWithCli(server: TestServer, id: string, timeoutMs: number) {
  const cancelled = await runCli(["flow-run", "cancel", id], server.env);
  if (cancelled.code !== 0) throw new Error(`flow-run cancel exited ${cancelled.code}: ${cancelled.stderr}`);
  const final = await waitForState(server, id, "CANCELLED", timeoutMs);
  const history = await server.api.flowRuns.history.query({ id });
  return { final, lastStates: history.slice(-2).map((s) => s.type) };
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `flowplane ARGS` that must succeed: a non-zero exit fails the test with the command's stderr. */
export async function cliOk(
  args: string[],
  env: Record<string, string>,
  options: Parameters<typeof runCli>[2] = {},
): Promise<CliResult> {
  const result = await runCli(args, env, options);
  expect(result.code, `flowplane ${args.join(" ")}: ${result.stderr}`).toBe(0);
  return result;
}

/**
 * Creates work pool `pool` of `type` and deploys each `[entrypoint, name, extra flags]` to it, with
 * the CLI from the repository root, as a user sets up a pool.
 */
export async function deployToNewPool(
  server: TestServer,
  pool: string,
  type: "process" | "docker",
  deployments: readonly (readonly [entrypoint: string, name: string, extra?: readonly string[]])[],
): Promise<void> {
  await cliOk(["work-pool", "create", pool, "--type", type, "--json"], server.env);
  for (const [entrypoint, name, extra = []] of deployments)
    await cliOk(["deploy", entrypoint, "--name", name, "--pool", pool, ...extra, "--json"], server.env, {
      cwd: repoRoot,
    });
}

/** A worker's environment for liveness scenarios: heartbeats every second (runs every 0.5 s), 2 s to stop. */
export function fastWorkerEnv(server: TestServer): Record<string, string> {
  return {
    ...server.env,
    FLOWPLANE_WORKER_HEARTBEAT_SECONDS: "1",
    FLOWPLANE_RUN_HEARTBEAT_SECONDS: "0.5",
    FLOWPLANE_STOP_GRACE_SECONDS: "2",
  };
}

/** Runs `body` while `flowplane worker start ARGS` runs; then stops the worker (SIGTERM) and waits for its exit. */
export async function withWorker<T>(
  args: string[],
  env: Record<string, string>,
  body: (worker: ChildProcess) => Promise<T>,
): Promise<T> {
  const worker = spawnCli(["worker", "start", ...args], env);
  try {
    return await body(worker);
  } finally {
    worker.kill("SIGTERM");
    await exited(worker);
  }
}

/**
 * Runs a deployment through `flowplane worker start --pool POOL --run-once`, which must exit 0.
 * Answers the run as it stands after the worker is done, and what the worker printed (for failure
 * messages).
 */
export async function runDeploymentOnce(
  server: TestServer,
  pool: string,
  env: Record<string, string>,
  deployment: Parameters<ApiClient["deployments"]["run"]["mutate"]>[0],
): Promise<{ run: FlowRun; output: string }> {
  // --run-once only claims what is due when the worker starts, so the run comes first.
  const created = await server.api.deployments.run.mutate(deployment);
  const worker = spawnCli(["worker", "start", "--pool", pool, "--run-once"], env);
  expect(await exited(worker), outputOf(worker)).toBe(0);
  return { run: await server.api.flowRuns.get.query({ id: created.id }), output: outputOf(worker) };
}

/** Waits until run `id` is RUNNING on infrastructure the worker has reported; answers the run then. */
export function waitUntilRunning(server: TestServer, id: string, timeoutMs?: number): Promise<FlowRun> {
  return waitForRun(server, id, "RUNNING", (r) => r.state.type === "RUNNING" && r.infrastructureId, timeoutMs);
}

/**
 * Runs deployment hello/hello (examples/hello.ts with n=4) with `deployment run --watch` while a
 * worker named `workerName` serves the pool, and checks what every pool type must deliver: COMPLETED
 * by that worker, its four task runs COMPLETED, its log line, and a logPrints line kept once (not once
 * from the SDK and again from stdout). Answers the run.
 */
export async function expectHelloCompleted(
  server: TestServer,
  worker: ChildProcess,
  workerName: string,
  timeoutMs = 60_000,
) {
  const watched = await runCli(
    ["deployment", "run", "hello/hello", "--param", "n=4", "--watch", "--json"],
    server.env,
    {
      timeoutMs,
    },
  );
  expect(watched.code, `${watched.stderr}\nworker:\n${outputOf(worker)}`).toBe(0);
  const run = JSON.parse(watched.stdout) as FlowRun;
  expect(run.state.type).toBe("COMPLETED");
  expect(run.workerName).toBe(workerName);
  const logs = await runCli(["flow-run", "logs", run.id, "--json"], server.env);
  const lines = (JSON.parse(logs.stdout) as { message: string }[]).map((l) => l.message);
  expect(lines).toContain("total is 6");
  expect(lines.filter((l) => l === "printed line")).toHaveLength(1);
  const taskRuns = await server.api.taskRuns.list.query({ flowRunId: run.id });
  expect(taskRuns.map((t) => t.stateType)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"]);
  return run;
}
