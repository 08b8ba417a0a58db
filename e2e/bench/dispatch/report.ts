// The bench's output: a line per trial as it ends, then markdown tables, ratios and one JSON line.
import type { LatencyResult, Machine, ThroughputResult } from "./harness.ts";

export function printTrial(r: ThroughputResult): void {
  console.log(
    `  ${r.system.padEnd(16)} ${r.config.padEnd(48)} ${r.concurrency.padEnd(30)} ${r.perSecond.toFixed(0).padStart(7)} runs/s  (${r.completed}/${r.runs} in ${r.seconds.toFixed(2)} s${r.timeBoxed ? ", time-boxed" : ""}; CPU cores busy: this process ${r.nodeCpu.toFixed(2)}, machine ${r.machineCpu.toFixed(2)}; CPU ms/run: this process ${r.nodeCpuMsPerRun.toFixed(2)}, database ${r.dbCpuMsPerRun.toFixed(2)})`,
  );
}

export function printLatency(r: LatencyResult): void {
  console.log(
    `  ${r.system.padEnd(16)} ${r.config.padEnd(50)} p50 ${r.p50Ms.toFixed(1).padStart(7)} ms  p99 ${r.p99Ms.toFixed(1).padStart(7)} ms  max ${r.maxMs.toFixed(1).padStart(7)} ms  (${r.jobs} jobs)`,
  );
}

export function printHeader(
  host: Machine,
  backgroundCpu: number,
  runs: number,
  workers: number,
  limit: number,
  latencyJobs: number,
): void {
  console.log(`# Flowplane dispatch vs graphile-worker 0.18 and pg-boss 12`);
  console.log(
    `machine: ${host.cpus} CPUs (${host.cpuModel}), ${host.memoryGiB} GiB, ${host.kernel}; node ${host.node}; ${host.postgres} (${Object.entries(
      host.postgresSettings,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}); ` +
      `client, servers, workers and PostgreSQL share these CPUs; CPU cores busy before the run (other processes): ${backgroundCpu.toFixed(2)}\n`,
  );
  console.log(
    `N=${runs} runs per throughput trial, Flowplane W=${workers} workers × limit ${limit}; latency: ${latencyJobs} jobs each\n`,
  );
}

/** Flowplane's throughput and p99 latency over the peers' in the same run. */
function ratiosOf(throughput: ThroughputResult[], latency: LatencyResult[], workers: number): Record<string, number> {
  const best = (xs: ThroughputResult[]) =>
    xs.reduce<ThroughputResult | null>((a, b) => (a && a.perSecond >= b.perSecond ? a : b), null);
  const gwTunedSame = throughput.find(
    (r) =>
      r.system === "graphile-worker" && r.config.startsWith("tuned") && r.concurrency === `concurrentJobs ${workers}`,
  );
  const gwDefaultSame = throughput.find(
    (r) => r.system === "graphile-worker" && r.config === "default" && r.concurrency === `concurrentJobs ${workers}`,
  );
  const gwBest = best(throughput.filter((r) => r.system === "graphile-worker"));
  const bossBest = best(throughput.filter((r) => r.system === "pg-boss"));
  const ratios: Record<string, number> = {};
  for (const [reporting, flowplane] of [
    ["per-run setState", throughput.find((r) => r.system === "flowplane" && r.config.includes("setState per run"))],
    ["setStates", throughput.find((r) => r.system === "flowplane" && r.config.includes("setStates"))],
  ] as const) {
    if (!flowplane) continue;
    if (gwDefaultSame)
      ratios[`flowplane (${reporting}) / graphile-worker default @${workers}`] =
        flowplane.perSecond / gwDefaultSame.perSecond;
    if (gwTunedSame)
      ratios[`flowplane (${reporting}) / graphile-worker tuned @${workers}`] =
        flowplane.perSecond / gwTunedSame.perSecond;
    if (gwBest) ratios[`flowplane (${reporting}) / graphile-worker best`] = flowplane.perSecond / gwBest.perSecond;
    if (bossBest) ratios[`flowplane (${reporting}) / pg-boss best`] = flowplane.perSecond / bossBest.perSecond;
  }
  const fpLat = latency.find((r) => r.system === "flowplane");
  const gwLat = latency.find((r) => r.system === "graphile-worker" && r.config.startsWith("default"));
  if (fpLat && gwLat)
    ratios["flowplane p99 / graphile-worker p99 (default, LISTEN/NOTIFY)"] = fpLat.p99Ms / gwLat.p99Ms;
  return ratios;
}

export function printResults(results: {
  host: Machine;
  backgroundCpu: number;
  runs: number;
  workers: number;
  limit: number;
  throughput: ThroughputResult[];
  latency: LatencyResult[];
  scaling: ThroughputResult[];
}): void {
  const { host, backgroundCpu, runs, workers, limit, throughput, latency, scaling } = results;
  const ratios = ratiosOf(throughput, latency, workers);
  console.log("\n## results\n");
  console.log(
    `Machine: ${host.cpus} CPUs (${host.cpuModel}), ${host.memoryGiB} GiB RAM, ${host.kernel}, node ${host.node}, ${host.postgres}. One process runs every client, server and worker; PostgreSQL runs on the same CPUs. CPU cores busy before the run (other processes): ${backgroundCpu.toFixed(2)}.\n`,
  );
  if (throughput.length > 0) {
    console.log(`Dispatch throughput, N = ${runs} no-op runs/jobs (due → claimed and completed):\n`);
    console.log(
      "| system | configuration | concurrency | runs/s | completed | seconds | cores busy: bench process / machine | CPU ms per run: bench process / database |",
    );
    console.log("|---|---|---|---:|---:|---:|---:|---:|");
    for (const r of throughput)
      console.log(
        `| ${r.system} | ${r.config} | ${r.concurrency} | ${r.perSecond.toFixed(0)} | ${r.completed}/${r.runs}${r.timeBoxed ? " (time-boxed)" : ""} | ${r.seconds.toFixed(2)} | ${r.nodeCpu.toFixed(2)} / ${r.machineCpu.toFixed(2)} | ${r.nodeCpuMsPerRun.toFixed(2)} / ${r.dbCpuMsPerRun.toFixed(2)} |`,
      );
    console.log("");
  }
  if (latency.length > 0) {
    console.log("Pickup latency, idle system, one job at a time (created → claimed/started):\n");
    console.log("| system | configuration | jobs | p50 ms | p99 ms | max ms | measured |");
    console.log("|---|---|---:|---:|---:|---:|---|");
    for (const r of latency)
      console.log(
        `| ${r.system} | ${r.config} | ${r.jobs} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.maxMs.toFixed(1)} | ${r.note ?? ""} |`,
      );
    console.log("");
  }
  if (scaling.length > 0) {
    console.log(`Flowplane scaling, N = ${runs}, limit ${limit} per poll:\n`);
    console.log(
      "| servers | workers (× limit) | runs/s | seconds | cores busy: bench process / machine | CPU ms per run: bench process / database |",
    );
    console.log("|---|---:|---:|---:|---:|---:|");
    for (const r of scaling)
      console.log(
        `| ${r.config} | ${r.concurrency.split(",")[0]} | ${r.perSecond.toFixed(0)} | ${r.seconds.toFixed(2)} | ${r.nodeCpu.toFixed(2)} / ${r.machineCpu.toFixed(2)} | ${r.nodeCpuMsPerRun.toFixed(2)} / ${r.dbCpuMsPerRun.toFixed(2)} |`,
      );
    console.log("");
  }
  if (Object.keys(ratios).length > 0) {
    console.log("| ratio | value |");
    console.log("|---|---:|");
    for (const [k, v] of Object.entries(ratios)) console.log(`| ${k} | ${v.toFixed(3)} |`);
    console.log("");
  }
  console.log(
    JSON.stringify({
      command: `npx tsx e2e/bench/dispatch.ts ${process.argv.slice(2).join(" ")}`.trim(),
      machine: { ...host, backgroundCpuBeforeRun: Number(backgroundCpu.toFixed(2)) },
      runs,
      workers,
      limit,
      throughput: throughput.map((r) => ({ ...r, perSecond: Math.round(r.perSecond) })),
      latency,
      scaling: scaling.map((r) => ({ ...r, perSecond: Math.round(r.perSecond) })),
      ratios,
    }),
  );
}
