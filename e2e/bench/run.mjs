// `pnpm bench [NAME...]`: runs the benchmarks in e2e/bench one after another (all of them, or the
// ones named), each as its own process. TypeScript benchmarks run from the sources (tsx with the
// @flowplane/source condition, like the tests); cli-speed measures the built CLI.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const tsx = (file, ...args) => ["pnpm", ["exec", "tsx", `e2e/bench/${file}`, ...args]];
const BENCHMARKS = {
  "cli-speed": ["bash", ["e2e/bench/cli-speed.sh"]],
  "sdk-overhead": tsx("sdk-overhead.ts"),
  "pickup-latency": tsx("pickup-latency.ts", "200"),
  scheduler: tsx("scheduler.ts", "1000"),
  dispatch: tsx("dispatch.ts"),
  "api-throughput": tsx("api-throughput.ts"),
  "dashboard-scale": tsx("dashboard-scale.ts"),
  "code-delivery": tsx("code-delivery.ts", "20", "100"),
  "tenant-fairness": tsx("tenant-fairness.ts", "300", "128"),
};

const names = process.argv.slice(2);
const unknown = names.filter((n) => !(n in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(", ")}; known: ${Object.keys(BENCHMARKS).join(", ")}\n`);
  process.exit(2);
}
const env = {
  ...process.env,
  NODE_OPTIONS: [process.env.NODE_OPTIONS, "--conditions=@flowplane/source"].filter(Boolean).join(" "),
};
let failed = 0;
for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
  const [command, args] = BENCHMARKS[name];
  process.stdout.write(`\n== ${name}: ${command} ${args.join(" ")}\n`);
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    stdio: "inherit",
    env: name === "cli-speed" ? process.env : env,
  });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
