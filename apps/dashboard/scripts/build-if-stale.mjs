// Builds the dashboard unless dist/ is newer than everything it is built from (its own sources and
// packages/core, whose state names and colours it imports). `pnpm start` and the dashboard's
// browser tests use it, so a warm start does not spend seconds rebuilding an unchanged bundle.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dashboard = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = path.resolve(dashboard, "../..");

function newestMtime(target) {
  if (!existsSync(target)) return 0;
  const info = statSync(target);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(target)) {
    if (entry === "node_modules" || entry === "dist") continue;
    newest = Math.max(newest, newestMtime(path.join(target, entry)));
  }
  return newest;
}

const index = path.join(dashboard, "dist/index.html");
const built = existsSync(index) ? statSync(index).mtimeMs : 0;
const sources = Math.max(newestMtime(dashboard), newestMtime(path.join(repoRoot, "packages/core/src")));
if (built <= sources) {
  process.stderr.write("building the dashboard…\n");
  execFileSync("pnpm", ["--filter", "@flowplane/dashboard", "build"], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 180_000,
  });
}
