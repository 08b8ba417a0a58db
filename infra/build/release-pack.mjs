// `pnpm release:pack DIR`: builds what is stale and writes the release tarballs of the three public
// packages into DIR — @flowplane/sdk, flowplane (the CLI) and @flowplane/server — then prints their
// paths, one a line. `pnpm pack` applies each package's publishConfig (exports without the in-repo
// source condition) and turns `workspace:` ranges into versions. It refuses to write a release whose
// packages disagree on the version or whose tarball would ship sources or tests.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const PUBLIC_PACKAGES = ["packages/sdk", "packages/cli", "apps/server"];

const target = process.argv[2];
if (!target) {
  process.stderr.write("usage: pnpm release:pack DIR\n");
  process.exit(2);
}
const outDir = path.resolve(process.env.INIT_CWD ?? process.cwd(), target);
mkdirSync(outDir, { recursive: true });

const versions = new Set(
  PUBLIC_PACKAGES.map((dir) => JSON.parse(readFileSync(path.join(repoRoot, dir, "package.json"), "utf8")).version),
);
if (versions.size !== 1) {
  process.stderr.write(`release:pack: the public packages must share one version, found ${[...versions].join(", ")}\n`);
  process.exit(1);
}

execFileSync(process.execPath, [path.join(repoRoot, "infra/build/build-if-stale.mjs")], { stdio: "inherit" });

for (const dir of PUBLIC_PACKAGES) {
  const out = execFileSync("pnpm", ["pack", "--json", "--pack-destination", outDir], {
    cwd: path.join(repoRoot, dir),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const packed = JSON.parse(out);
  const shipped = packed.files.map((f) => f.path);
  // Source maps count as sources: they embed them (sourcesContent).
  const unwanted = shipped.filter((f) => /(^|\/)src\/|\.test\.|\.test-d\.|tsdown\.config|\.map$/.test(f));
  if (unwanted.length > 0) {
    process.stderr.write(`release:pack: ${packed.name} would ship ${unwanted.join(", ")}\n`);
    process.exit(1);
  }
  process.stdout.write(`${packed.filename}\n`);
}
