// Builds every workspace package (`pnpm build`) unless every one of their builds is newer than
// everything they are built from. `pnpm start`, `pnpm flowplane` and `pnpm release:pack` run it, so
// a fresh clone builds once and a warm one starts at once. Progress goes to stderr: `pnpm flowplane
// … --json` keeps stdout for its one JSON document.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** What the builds read: every workspace package (they bundle each other), the schema, the build setup. */
const inputs = [
  "packages",
  "apps",
  "prisma",
  "infra/build",
  "package.json",
  "pnpm-lock.yaml",
  "tsconfig.base.json",
  "tsconfig.build.json",
];
/**
 * One file per package build, written at its end (tsdown cleans dist/ first): the file its main
 * export or its bin names, for the dashboard its page. Every package with a `build` script counts.
 */
function buildOutputs() {
  const outputs = [];
  for (const parent of ["packages", "apps"]) {
    for (const name of readdirSync(path.join(repoRoot, parent))) {
      const manifest = path.join(repoRoot, parent, name, "package.json");
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, "utf8"));
      if (!pkg.scripts?.build) continue;
      const output = pkg.exports?.["."]?.default ?? Object.values(pkg.bin ?? {})[0] ?? "dist/index.html";
      outputs.push(path.join(repoRoot, parent, name, output));
    }
  }
  return outputs;
}

function newestMtime(target) {
  if (!existsSync(target)) return 0;
  const info = statSync(target);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(target)) {
    if (entry === "node_modules" || entry === "dist" || entry === "generated") continue;
    newest = Math.max(newest, newestMtime(path.join(target, entry)));
  }
  return newest;
}

const built = Math.min(...buildOutputs().map((file) => (existsSync(file) ? statSync(file).mtimeMs : 0)));
const sources = Math.max(...inputs.map((input) => newestMtime(path.join(repoRoot, input))));
if (built <= sources) {
  process.stderr.write("building the Flowplane packages (pnpm build)…\n");
  execFileSync("pnpm", ["build"], { cwd: repoRoot, stdio: ["ignore", process.stderr, "inherit"], timeout: 600_000 });
}
