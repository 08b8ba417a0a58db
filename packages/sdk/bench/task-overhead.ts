// Per-task engine overhead: 10,000 trivial task runs inside one flow run with the LocalTracker.
// Run: npx tsx --conditions=@flowplane/source packages/sdk/bench/task-overhead.ts
import { configure, flow, LocalTracker, setTracker, task } from "../src/index.ts";

const N = 10_000;
configure({ quiet: true });
setTracker(new LocalTracker());

const inc = task({ name: "inc" }, (x: number) => x + 1);

const sequential = flow({ name: "bench_sequential" }, async (n: number) => {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = await inc(acc);
  return acc;
});

const fanOut = flow({ name: "bench_map" }, async (n: number) => {
  const xs = Array.from({ length: n }, (_, i) => i);
  return (await inc.map(xs)).length;
});

async function measure(label: string, run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  const ms = performance.now() - started;
  console.log(`${label.padEnd(28)} ${(ms / N).toFixed(4)} ms/task  (${ms.toFixed(1)} ms for ${N})`);
  return ms / N;
}

// Warm up the JIT so the numbers describe steady state.
await sequential(N);
await fanOut(N);

const seq = await measure("sequential await", () => sequential(N));
await measure("map (all in flight)", () => fanOut(N));
const direct = await measure("plain function (baseline)", async () => {
  let acc = 0;
  for (let i = 0; i < N; i++) acc = await Promise.resolve(acc + 1);
  return acc;
});
console.log(`engine overhead ≈ ${(seq - direct).toFixed(4)} ms/task (goal < 0.05)`);
