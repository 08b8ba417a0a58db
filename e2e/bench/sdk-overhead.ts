// Per-task overhead of the SDK over 10,000 trivial task runs, locally and tracked.
//
//   npx tsx e2e/bench/sdk-overhead.ts            (needs PostgreSQL on 127.0.0.1:5432 for "tracked")
//
// ms/task = (flow wall time − the same loop over a plain async function) / 10,000, for sequential
// awaits and for one `.map` over all items. "Local" records with a quiet LocalTracker. "Tracked"
// records with an ApiTracker against a real server started in this process on a fresh test
// database (so the server's work shares this CPU). For tracked runs two figures are shown:
//   run      — until the flow function returns: what the user's code waits for;
//   e2e      — until the flow call resolves, i.e. after the final state and the last batch have
//              been accepted by the server (runFlow flushes before returning);
//   drain    — e2e minus run: how long the records trail the work.
// Goals: < 0.05 ms/task local, < 0.5 ms/task tracked.
import { createApiClient } from "@flowplane/client";
import { ensureTemplateDatabase } from "@flowplane/db/testing";
import { ApiTracker, configure, flow, LocalTracker, setTracker, task } from "@flowplane/sdk";
import { startTestServer, type TestServer, benchmarkServerConfig } from "../harness.ts";

const N = 10_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

configure({ quiet: true });

const inc = task({ name: "inc" }, (x: number) => x + 1);

// Each flow notes when its own body finished, to tell execution from delivery.
let bodyDone = 0;
const sequential = flow({ name: "bench_sequential" }, async (n: number) => {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = await inc(acc);
  bodyDone = performance.now();
  return acc;
});
const fanOut = flow({ name: "bench_map" }, async (n: number) => {
  const values = await inc.map(Array.from({ length: n }, (_, i) => i));
  bodyDone = performance.now();
  return values.length;
});

const plainInc = async (x: number): Promise<number> => x + 1;
const baselines = {
  sequential: async (n: number) => {
    let acc = 0;
    for (let i = 0; i < n; i++) acc = await plainInc(acc);
    return acc;
  },
  map: async (n: number) => (await Promise.all(Array.from({ length: n }, (_, i) => plainInc(i)))).length,
};

interface Sample {
  runMs: number;
  e2eMs: number;
}

async function timeFlow(run: () => Promise<unknown>): Promise<Sample> {
  const started = performance.now();
  await run();
  const ended = performance.now();
  return { runMs: bodyDone - started, e2eMs: ended - started };
}

async function timePlain(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const perTask = (ms: number, baseline: number): string => (Math.max(0, ms - baseline) / N).toFixed(4);

async function bench(
  mode: "local" | "tracked",
  shape: "sequential" | "map",
  afterRound?: () => Promise<void>,
): Promise<{ run: number; e2e: number; baseline: number }> {
  const flowFn = shape === "sequential" ? () => sequential(N) : () => fanOut(N);
  const plain = () => baselines[shape](N);
  // Warm-up: JIT, the server's connection pool and prepared plans.
  await flowFn();
  await plain();
  await afterRound?.();
  const samples: Sample[] = [];
  const plains: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    plains.push(await timePlain(plain));
    samples.push(await timeFlow(flowFn));
    await afterRound?.();
  }
  const baseline = median(plains);
  const run = median(samples.map((s) => s.runMs));
  const e2e = median(samples.map((s) => s.e2eMs));
  const label = `${mode} ${shape}`.padEnd(20);
  if (mode === "local") {
    console.log(
      `${label} ${perTask(run, baseline)} ms/task   (flow ${run.toFixed(0)} ms, baseline ${baseline.toFixed(1)} ms)`,
    );
  } else {
    console.log(
      `${label} run ${perTask(run, baseline)} ms/task · e2e ${perTask(e2e, baseline)} ms/task · drain ${(e2e - run).toFixed(0)} ms` +
        `   (flow ${run.toFixed(0)} ms, delivered at ${e2e.toFixed(0)} ms, baseline ${baseline.toFixed(1)} ms)`,
    );
  }
  return { run: (run - baseline) / N, e2e: (e2e - baseline) / N, baseline };
}

console.log(
  `SDK per-task overhead, ${N.toLocaleString("en-US")} trivial tasks, median of ${ROUNDS} rounds (node ${process.version})\n`,
);

setTracker(new LocalTracker());
const local = [await bench("local", "sequential"), await bench("local", "map")];

await ensureTemplateDatabase();
let server: TestServer | undefined;
let tracked: { run: number; e2e: number }[] = [];
try {
  server = await startTestServer(benchmarkServerConfig);
  const api = createApiClient(server.connection);
  const tracker = new ApiTracker(api);
  setTracker(tracker);
  // Every record must be on the server: check the newest run of each flow has all its task runs.
  const verify = (flowName: string) => async () => {
    const { items } = await api.flowRuns.list.query({ flowName, limit: 1 });
    const run = items[0]!;
    const tasks = await api.taskRuns.list.query({ flowRunId: run.id, limit: 20_000 });
    const done = tasks.filter((t) => t.stateType === "COMPLETED").length;
    if (run.state.type !== "COMPLETED" || tasks.length !== N || done !== N) {
      throw new Error(
        `${flowName}: run ${run.state.type}, ${tasks.length} task runs, ${done} COMPLETED (expected ${N})`,
      );
    }
  };
  tracked = [
    await bench("tracked", "sequential", verify("bench_sequential")),
    await bench("tracked", "map", verify("bench_map")),
  ];
  tracker.close();
} finally {
  await server?.close();
}

const worstLocal = Math.max(...local.map((r) => r.run));
const worstTracked = Math.max(...tracked.map((r) => r.e2e));
console.log(`\nlocal:   worst ${worstLocal.toFixed(4)} ms/task — goal < 0.05 ${worstLocal < 0.05 ? "✓" : "✗"}`);
console.log(
  `tracked: worst ${worstTracked.toFixed(4)} ms/task end to end — goal < 0.5 ${worstTracked < 0.5 ? "✓" : "✗"}`,
);
process.exit(0);
