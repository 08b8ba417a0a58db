// Code delivery: what pull steps add to a run's start, on the process pool.
//   pnpm bench code-delivery            (npx tsx e2e/bench/code-delivery.ts [runs=20] [deployments=100])
//
// The workers are the built CLI (packages/cli/dist, built first when stale), as users run it: their
// runner is dist/runner-bootstrap.js and the flows load the SDK's dist, with no TypeScript loader.
//
// 1. Warm caches: claim → RUNNING (the runner has run its pull steps and loaded the flow) of a
//    git-delivered deployment whose checkout and node_modules are cached, against the same project
//    deployed in place (no pull steps). The difference is what delivery adds (goal ≤ 100 ms p50).
// 2. Cold: the same with an empty FLOWPLANE_HOME each time: fetch, checkout, `npm ci`.
// 3. 100 deployments of one repository at one commit, all run at once by one worker with an empty
//    cache: how many fetches (goal: one), and the runs' start times.
// The repository is served by `git daemon` on loopback; the project has its own lockfile.
import { execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import {
  benchmarkServerConfig,
  exited,
  repoRoot,
  runCli,
  startTestServer,
  waitFor,
  type TestServer,
} from "../harness.ts";
import { runSteps, type StepSpec } from "@flowplane/steps";
import { writeProject } from "../support/delivery-project.ts";
import { git, startGitDaemon } from "../support/git-servers.ts";

const RUNS = Number(process.argv[2] ?? 20);
const DEPLOYMENTS = Number(process.argv[3] ?? 100);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (xs: number[]) =>
  `p50 ${pct(xs, 50).toFixed(1)} ms, p90 ${pct(xs, 90).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;

execFileSync(process.execPath, [path.join(repoRoot, "infra/build/build-if-stale.mjs")], { stdio: "inherit" });
const builtCli = path.join(repoRoot, "packages/cli/dist/main.js");
const server = await startTestServer(benchmarkServerConfig);
const root = await mkdtemp(path.join(os.tmpdir(), "flowplane-bench-delivery-"));
await mkdir(path.join(root, "srv"));
const daemon = await startGitDaemon(path.join(root, "srv"));
const workerKey = (await server.api.apiKeys.create.mutate({ name: "bench-worker", scope: "WORKER" })).key;
const { GIT_DIR: _ignored, ...baseEnv } = server.env;
const workers: ChildProcess[] = [];
let workerLog = "";

/** Claim (PENDING) → RUNNING of a run, from its state history (server clock on both ends). */
async function startLatency(server: TestServer, id: string): Promise<number> {
  const history = await server.api.flowRuns.history.query({ id });
  const pending = history.find((s) => s.type === "PENDING");
  const running = history.find((s) => s.type === "RUNNING");
  if (!pending || !running) throw new Error(`run ${id} has no PENDING→RUNNING in ${JSON.stringify(history)}`);
  return new Date(running.timestamp).getTime() - new Date(pending.timestamp).getTime();
}

async function completed(id: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `run ${id}`,
    async () => {
      const r = await server.api.flowRuns.get.query({ id });
      if (["FAILED", "CRASHED", "CANCELLED"].includes(r.state.type))
        throw new Error(`run ${id} ended ${r.state.type}: ${r.state.message}`);
      return r.state.type === "COMPLETED";
    },
    timeoutMs,
    20,
  );
}

/** A worker of the built CLI; `pnpm bench`'s source condition (NODE_OPTIONS) is not passed on. */
function startWorker(pool: string, home: string, limit = 1): ChildProcess {
  const { NODE_OPTIONS: _sources, ...env } = { ...process.env, ...baseEnv };
  const worker = spawn(process.execPath, [builtCli, "worker", "start", "--pool", pool, "--limit", String(limit)], {
    cwd: path.join(root, "worker"),
    env: { ...env, FLOWPLANE_API_KEY: workerKey, FLOWPLANE_HOME: home },
    stdio: ["ignore", "ignore", "pipe"],
  });
  // Its log lines would bury the figures; the last ones are printed if the bench fails.
  worker.stderr!.on("data", (d: Buffer) => (workerLog = `${workerLog}${d.toString()}`.slice(-8_000)));
  workers.push(worker);
  return worker;
}

async function runSequentially(deployment: string, n: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const { id } = await server.api.deployments.run.mutate({ name: deployment });
    await completed(id);
    latencies.push(await startLatency(server, id));
  }
  return latencies;
}

try {
  await mkdir(path.join(root, "worker"), { recursive: true });
  await mkdir(path.join(root, "node_modules/@flowplane"), { recursive: true });
  await symlink(path.join(repoRoot, "packages/sdk"), path.join(root, "node_modules/@flowplane/sdk"));
  const project = path.join(root, "deployer/etl");
  await mkdir(project, { recursive: true });
  await writeProject(project, root);
  await git(root, "init", "--bare", "--quiet", "--initial-branch=main", path.join(root, "srv/etl.git"));
  await git(project, "init", "--quiet", "--initial-branch=main");
  await git(project, "add", ".");
  await git(project, "commit", "--quiet", "-m", "etl");
  await git(project, "remote", "add", "origin", daemon.url("etl.git"));
  await git(project, "push", "--quiet", path.join(root, "srv/etl.git"), "main");
  await git(project, "fetch", "--quiet", "origin");
  for (const pool of ["bench-local", "bench-git", "bench-cold", "bench-many"])
    await server.api.workPools.create.mutate({ name: pool, type: "process" });
  const deployYaml = (name: string, pool: string, pull: string) =>
    writeFile(
      path.join(project, "flowplane.yaml"),
      `${pull}deployments:\n  - name: ${name}\n    entrypoint: flows/etl.ts:delivered\n    pool: ${pool}\n`,
    );
  const deploy = async () => {
    const r = await runCli(["deploy"], baseEnv, { cwd: project, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(r.stderr);
  };
  await deployYaml("local", "bench-local", "pull: []\n");
  await deploy();
  await deployYaml("git", "bench-git", "");
  await deploy();
  await deployYaml("cold", "bench-cold", "");
  await deploy();

  // 1. Warm caches against in place.
  const warmHome = path.join(root, "home-warm");
  startWorker("bench-local", warmHome);
  startWorker("bench-git", warmHome);
  await runSequentially("delivered/git", 2); // fills the caches
  const local: number[] = [];
  const delivered: number[] = [];
  // Interleaved, so load on the machine weighs on both alike.
  for (let i = 0; i < RUNS; i++) {
    local.push(...(await runSequentially("delivered/local", 1)));
    delivered.push(...(await runSequentially("delivered/git", 1)));
  }
  // The pull steps' own time, as the runner logs it ("pull step N <name> done in X ms"), per run.
  const { rows: stepRows } = await server.db.pool.query<{ ms: string }>(
    `SELECT sum((regexp_match(l.message, 'done in (\\d+) ms'))[1]::int) AS ms
       FROM "Log" l JOIN "FlowRun" r ON r.id = l."flowRunId" JOIN "Deployment" d ON d.id = r."deploymentId"
      WHERE d.name = 'git' AND l.message LIKE '%pull step % done in % ms%'
      GROUP BY l."flowRunId" ORDER BY min(l.timestamp) OFFSET 2`,
  );
  const stepMs = stepRows.map((r) => Number(r.ms));
  const added = pct(delivered, 50) - pct(local, 50);
  console.log(`in place (no pull steps):        claim → RUNNING ${fmt(local)}`);
  console.log(`git-delivered, warm caches:      claim → RUNNING ${fmt(delivered)}`);
  console.log(`added by delivery (p50):         ${added.toFixed(0)} ms (goal ≤ 100 ms)`);
  console.log(`pull steps themselves, warm:     ${fmt(stepMs)}`);

  // 1b. The pull steps alone, in this process, on the same warm caches: the cost of the mechanism
  // without a process start (what a runner adds on an idle machine).
  const gitSteps = (await server.api.deployments.get.query({ name: "delivered/git" })).pullSteps as StepSpec[];
  const inProcess: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await runSteps(gitSteps, "pull", { cwd: root, home: warmHome, env: process.env, log: () => {} });
    inProcess.push(performance.now() - t0);
  }
  console.log(`pull steps in-process, warm:     ${fmt(inProcess)}`);

  // 2. Cold: a new FLOWPLANE_HOME (and so a new worker) for each run.
  const cold: number[] = [];
  for (let i = 0; i < 3; i++) {
    const worker = startWorker("bench-cold", path.join(root, `home-cold-${i}`));
    cold.push(...(await runSequentially("delivered/cold", 1)));
    worker.kill("SIGTERM");
    await exited(worker);
  }
  console.log(`cold clone + npm ci:             claim → RUNNING ${fmt(cold)}`);

  // 3. Many deployments of one repository at one commit, empty cache, all at once.
  const cloneSteps = (await server.api.deployments.get.query({ name: "delivered/git" })).pullSteps as Record<
    string,
    unknown
  >[];
  const ids: string[] = [];
  for (let i = 0; i < DEPLOYMENTS; i++) {
    await server.api.deployments.upsert.mutate({
      flowName: "delivered",
      name: `many-${i}`,
      entrypoint: "flows/etl.ts:delivered",
      workPoolName: "bench-many",
      pullSteps: cloneSteps,
    });
  }
  const t0 = performance.now();
  for (let i = 0; i < DEPLOYMENTS; i++)
    ids.push((await server.api.deployments.run.mutate({ name: `delivered/many-${i}` })).id);
  const manyHome = path.join(root, "home-many");
  const many = startWorker("bench-many", manyHome, 10);
  for (const id of ids) await completed(id, 600_000);
  const wall = performance.now() - t0;
  const starts = await Promise.all(ids.map((id) => startLatency(server, id)));
  const { rows } = await server.db.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM "Log" WHERE "flowRunId" = ANY($1::uuid[]) AND message LIKE '%git_clone: fetching%'`,
    [ids],
  );
  console.log(
    `${DEPLOYMENTS} deployments, one repository: ${rows[0]!.n} fetch(es); all ${DEPLOYMENTS} runs done in ${(wall / 1000).toFixed(1)} s (10 at a time); claim → RUNNING ${fmt(starts)}`,
  );
  many.kill("SIGTERM");
  await exited(many).catch(() => {});
} catch (err) {
  process.stderr.write(`the workers' last output:\n${workerLog}\n`);
  throw err;
} finally {
  for (const w of workers) if (w.exitCode === null) w.kill("SIGKILL");
  await daemon.close();
  await server.close();
  await rm(root, { recursive: true, force: true });
}
