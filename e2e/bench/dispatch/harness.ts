// What every system's trials share: scratch databases, the CPU meters behind each throughput row,
// the one-job-at-a-time latency loop, and the description of the machine.
import { readFile } from "node:fs/promises";
import os from "node:os";
import pg from "pg";
import { databaseUrl, testAdminUrl, withAdminClient } from "@flowplane/db/testing";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

// ---------------------------------------------------------------------------------------------
// Databases

const scratchDatabases: string[] = [];

/**
 * An empty database on the same PostgreSQL server. The peers' pools close lazily, so the
 * databases are dropped together at the end (dropScratchDatabases), not as each trial ends.
 */
export async function freshDatabase(label: string): Promise<string> {
  // Named like the test databases (creation time first), so dropStaleTestDatabases in a concurrent
  // test run sees a fresh database rather than dropping it.
  const name = `flowplane_test_${Date.now().toString(36)}_bench_${label}_${Math.random().toString(16).slice(2, 8)}`;
  await withAdminClient((c) => c.query(`CREATE DATABASE "${name}"`));
  scratchDatabases.push(name);
  return databaseUrl(testAdminUrl, name);
}

export async function dropScratchDatabases(): Promise<void> {
  // A peer's straggling idle connection is cut by the forced drop: that error is expected here.
  process.on("uncaughtException", (err: Error & { code?: string }) => {
    if (err.code !== "57P01") throw err;
  });
  await sleep(500);
  await withAdminClient(async (c) => {
    for (const name of scratchDatabases.splice(0)) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

/** A peer's pool whose idle connections may be cut when the scratch databases are dropped. */
export function quietPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

/**
 * Waits until a peer's handler has seen all `runs` jobs and `unfinished` (a count of the jobs not
 * yet completed in the database) reads 0, or the deadline passes; answers the jobs left unfinished.
 */
export async function untilDrained(
  handled: () => number,
  runs: number,
  unfinished: () => Promise<number>,
  deadline: number,
): Promise<number> {
  while (handled() < runs && Date.now() < deadline) await sleep(5);
  for (;;) {
    const left = await unfinished();
    if (left === 0 || Date.now() > deadline) return left;
    await sleep(5);
  }
}

// ---------------------------------------------------------------------------------------------
// Throughput rows and the CPU they cost

export interface ThroughputResult {
  system: "flowplane" | "graphile-worker" | "pg-boss";
  config: string;
  concurrency: string;
  runs: number;
  completed: number;
  seconds: number;
  perSecond: number;
  timeBoxed: boolean;
  /** CPU cores busy during the trial: this process (client, servers, workers; plus replica child processes) and the whole machine. */
  nodeCpu: number;
  machineCpu: number;
  /** CPU milliseconds per run: this process, and the PostgreSQL backends of the trial's database. */
  nodeCpuMsPerRun: number;
  dbCpuMsPerRun: number;
}

type TrialOutcome = Pick<ThroughputResult, "system" | "config" | "concurrency" | "runs" | "completed" | "seconds">;

export interface Measuring {
  /**
   * Waits until a peer's trial has drained (untilDrained) and answers its row, timed from when
   * measuring started.
   */
  drained(
    trial: Omit<TrialOutcome, "completed" | "seconds">,
    handled: () => number,
    unfinished: () => Promise<number>,
    deadline: number,
  ): Promise<ThroughputResult>;
  /** The row of a trial whose outcome the caller measured itself. */
  row(outcome: TrialOutcome): Promise<ThroughputResult>;
}

/** Busy and total jiffies of the machine (all CPUs), from /proc/stat. */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Server replicas running as child processes: their CPU counts as the bench process's. */
export const replicaPids: number[] = [];

/** CPU seconds used so far by the given processes (from /proc; utime + stime in 100 Hz clock ticks). */
async function processCpuSeconds(pids: Iterable<number>): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
    if (!stat) continue; // exited
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);

/** Starts measuring CPU; the returned function gives the busy cores since. */
export async function cpuMeter(): Promise<() => Promise<{ nodeCpu: number; machineCpu: number }>> {
  const t0 = performance.now();
  const n0 = process.cpuUsage();
  const c0 = sum((await processCpuSeconds(replicaPids)).values());
  const m0 = await machineTicks();
  return async () => {
    const wallMs = performance.now() - t0;
    const n = process.cpuUsage(n0);
    const children = sum((await processCpuSeconds(replicaPids)).values()) - c0;
    const m = await machineTicks();
    const cpus = os.cpus().length;
    return {
      nodeCpu: ((n.user + n.system) / 1000 + children * 1000) / wallMs,
      machineCpu: ((m.busy - m0.busy) / Math.max(1, m.total - m0.total)) * cpus,
    };
  };
}

/**
 * CPU seconds used so far by the PostgreSQL backends connected to `database` (from /proc), so a
 * trial's database work can be counted per run however busy the machine is. Backends that exit
 * mid-trial are lost (pools here keep theirs for 30 s idle).
 */
async function backendCpuSeconds(database: string): Promise<Map<number, number>> {
  const { rows } = await withAdminClient((c) =>
    c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]),
  );
  return processCpuSeconds(rows.map((r) => r.pid));
}

/**
 * Starts measuring a trial on the database at `url`: its `row` turns the trial's outcome into a
 * result with its rate and the CPU it cost (this process, the machine, the database's backends).
 */
export async function startMeasuring(url: string): Promise<Measuring> {
  const database = new URL(url).pathname.slice(1);
  const backendsBefore = await backendCpuSeconds(database);
  const meter = await cpuMeter();
  const started = performance.now();
  const row = async (r: TrialOutcome): Promise<ThroughputResult> => {
    const cpu = await meter();
    let dbSeconds = 0;
    for (const [pid, t] of await backendCpuSeconds(database)) dbSeconds += t - (backendsBefore.get(pid) ?? 0);
    const perRun = (cpuSeconds: number) => (cpuSeconds * 1000) / Math.max(1, r.completed);
    return {
      ...r,
      perSecond: r.completed / r.seconds,
      timeBoxed: r.completed < r.runs,
      ...cpu,
      nodeCpuMsPerRun: perRun(cpu.nodeCpu * r.seconds),
      dbCpuMsPerRun: perRun(dbSeconds),
    };
  };
  return {
    row,
    async drained(trial, handled, unfinished, deadline) {
      const left = await untilDrained(handled, trial.runs, unfinished, deadline);
      return row({ ...trial, completed: trial.runs - left, seconds: (performance.now() - started) / 1000 });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pickup latency

export interface LatencyResult {
  system: string;
  config: string;
  jobs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  note?: string;
}

export function latencyRow(system: string, config: string, xs: number[], note?: string): LatencyResult {
  return {
    system,
    config,
    jobs: xs.length,
    p50Ms: pct(xs, 50),
    p99Ms: pct(xs, 99),
    maxMs: Math.max(...xs),
    ...(note ? { note } : {}),
  };
}

/** The idle gap before each job, so the worker is waiting when it is created. */
export const IDLE_GAP_MS = 10;

/**
 * Pickup latency of `jobs` jobs after `warmUp` unmeasured ones, one at a time on an idle system:
 * `once` waits IDLE_GAP_MS, creates a job and answers the milliseconds until a worker held it.
 */
export async function pickupSeries(jobs: number, warmUp: number, once: () => Promise<number>): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < jobs + warmUp; i++) {
    const ms = await once();
    if (i >= warmUp) xs.push(ms);
  }
  return xs;
}

// ---------------------------------------------------------------------------------------------
// The machine

export async function describeMachine() {
  return withAdminClient(async (c) => {
    const v = (await c.query<{ v: string }>("select version() AS v")).rows[0]!.v;
    const settings = (
      await c.query<{ name: string; setting: string }>(
        "select name, setting from pg_settings where name in ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections') order by name",
      )
    ).rows;
    return {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      postgres: v.split(" on ")[0]!,
      postgresSettings: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
      kernel: `${os.type()} ${os.release()}`,
    };
  });
}

export type Machine = Awaited<ReturnType<typeof describeMachine>>;
