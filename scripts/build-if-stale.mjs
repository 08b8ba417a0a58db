// Builds the published packages (`pnpm build`) unless every one of their builds is newer than
// everything they are built from. `pnpm start`, `pnpm flowplane` and `pnpm release:pack` run it, so
// a fresh clone builds once and a warm one starts at once. Progress goes to stderr: `pnpm flowplane
// … --json` keeps stdout for its one JSON document.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** What the builds read: every workspace package (they bundle each other), the schema, the build setup. */
const inputs = ["packages", "apps", "prisma", "scripts/build", "package.json", "pnpm-lock.yaml", "tsconfig.base.json"];
/** One file per build, written at its end (tsdown cleans dist/ first). */
const outputs = [
  "apps/dashboard/dist/index.html",
  "packages/sdk/dist/index.js",
  "apps/server/dist/index.js",
  "packages/cli/dist/main.js",
];

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

const built = Math.min(
  ...outputs.map((file) => (existsSync(path.join(repoRoot, file)) ? statSync(path.join(repoRoot, file)).mtimeMs : 0)),
);
const sources = Math.max(...inputs.map((input) => newestMtime(path.join(repoRoot, input))));
if (built <= sources) {
  process.stderr.write("building the Flowplane packages (pnpm build)…\n");
  execFileSync("pnpm", ["build"], { cwd: repoRoot, stdio: ["ignore", process.stderr, "inherit"], timeout: 600_000 });
}
