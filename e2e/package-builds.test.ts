// Every workspace package as its build leaves it: a `build` script, `exports` whose `types` and
// `default` name files that exist in dist/ (the `@flowplane/source` condition names the sources the
// repository runs), `files` that pack no sources or tests, and entries plain Node imports — no tsx,
// no source condition. The release tarballs depend on none of our internal packages.
//
// Packing the release builds what is stale first (once per test run, shared with the other test
// files that need the tarballs), so dist/ is current when this file reads it.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./harness.ts";
import { releaseTarballs, userEnv, type Release } from "./support/release.ts";

const run = promisify(execFile);

type ExportTarget = string | Record<string, string>;
interface Manifest {
  name: string;
  private?: boolean;
  exports?: Record<string, ExportTarget>;
  publishConfig?: { exports?: Record<string, ExportTarget> };
  bin?: Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const SOURCE_CONDITION = "@flowplane/source";
/** Exports that are processes, not modules: importing one runs it, and it declares nothing. */
const PROCESS_ENTRIES = new Set(["@flowplane/sdk/runner-main"]);

const packageDirs = ["packages", "apps"].flatMap((parent) =>
  readdirSync(path.join(repoRoot, parent))
    .map((name) => `${parent}/${name}`)
    .filter((dir) => existsSync(path.join(repoRoot, dir, "package.json"))),
);
const manifest = (dir: string) =>
  JSON.parse(readFileSync(path.join(repoRoot, dir, "package.json"), "utf8")) as Manifest;
const internalNames = packageDirs.map(manifest).flatMap((pkg) => (pkg.private ? [pkg.name] : []));

/** Every export but package.json, as `specifier → conditions`. */
function entries(pkg: Manifest): [string, Record<string, string>][] {
  return Object.entries(pkg.exports ?? {})
    .filter(([subpath]) => subpath !== "./package.json")
    .map(([subpath, target]) => [
      subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
      typeof target === "string" ? { default: target } : target,
    ]);
}

let release: Release;
beforeAll(async () => {
  release = await releaseTarballs();
}, 900_000);

describe("workspace package builds", () => {
  it("lists the packages it checks", () => {
    expect(packageDirs).toEqual(expect.arrayContaining(["packages/core", "packages/db", "apps/server"]));
    expect(internalNames).toEqual(expect.arrayContaining(["@flowplane/core", "@flowplane/worker"]));
  });

  it.each(packageDirs)("%s has a build, and its exports name built files with types", (dir) => {
    const pkg = manifest(dir);
    expect(pkg.scripts?.build, `${dir}: build script`).toBeTruthy();
    const at = (file: string) => path.join(repoRoot, dir, file);
    for (const [specifier, conditions] of entries(pkg)) {
      expect(Object.keys(conditions), specifier).toEqual(
        PROCESS_ENTRIES.has(specifier) ? [SOURCE_CONDITION, "default"] : [SOURCE_CONDITION, "types", "default"],
      );
      expect(conditions[SOURCE_CONDITION], specifier).toMatch(/^\.\/src\/.+\.ts$/);
      expect(existsSync(at(conditions[SOURCE_CONDITION]!)), `${specifier}: ${conditions[SOURCE_CONDITION]}`).toBe(true);
      expect(conditions.default, specifier).toMatch(/^\.\/dist\/.+\.js$/);
      expect(existsSync(at(conditions.default!)), `${specifier}: ${conditions.default}`).toBe(true);
      if (conditions.types === undefined) continue;
      expect(conditions.types, specifier).toMatch(/^\.\/dist\/.+\.d\.ts$/);
      expect(existsSync(at(conditions.types)), `${specifier}: ${conditions.types}`).toBe(true);
    }
    for (const bin of Object.values(pkg.bin ?? {})) expect(existsSync(at(bin)), `${dir}: bin ${bin}`).toBe(true);
    // What is published drops the repository's source condition.
    expect(JSON.stringify(pkg.publishConfig ?? {})).not.toContain(SOURCE_CONDITION);
  });

  it.each(packageDirs)("%s packs only its build: no sources, no tests", async (dir) => {
    const { stdout } = await run("pnpm", ["pack", "--dry-run", "--json"], {
      cwd: path.join(repoRoot, dir),
      env: userEnv(),
    });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }).files.map((f) => f.path);
    expect(files).toContain("package.json");
    // pnpm adds a package's README and licence whatever `files` says.
    expect(files.filter((f) => !/^(package\.json|README\.md|LICENSE)$/.test(f) && !f.startsWith("dist/"))).toEqual([]);
    expect(files.filter((f) => /(^|\/)src\/|\.test\.|\.test-d\.|\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
  });

  it("plain Node imports every entry from dist/ through the package's exports", async () => {
    // From e2e/, whose package.json depends on every library package of the workspace.
    const e2eDeps = Object.keys(manifest("e2e").dependencies ?? {});
    const specifiers = packageDirs
      .map(manifest)
      .filter((pkg) => pkg.exports?.["."] !== undefined)
      .flatMap((pkg) => entries(pkg).map(([specifier]) => specifier))
      .filter((specifier) => !PROCESS_ENTRIES.has(specifier));
    expect(specifiers.filter((s) => !e2eDeps.some((dep) => s === dep || s.startsWith(`${dep}/`)))).toEqual([]);
    const script = `
      const results = {};
      for (const specifier of ${JSON.stringify(specifiers)}) {
        try {
          const url = import.meta.resolve(specifier);
          const module = await import(specifier);
          results[specifier] = url.includes("/dist/") && Object.keys(module).length > 0 ? "ok" : "from " + url;
        } catch (err) {
          results[specifier] = String(err);
        }
      }
      console.log(JSON.stringify(results));
      process.exit(0);
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: path.join(repoRoot, "e2e"),
      env: userEnv(),
      timeout: 120_000,
    });
    expect(JSON.parse(stdout)).toEqual(Object.fromEntries(specifiers.map((s) => [s, "ok"])));
  });

  it("the release tarballs depend on none of our internal packages", async () => {
    expect(release.files).toHaveLength(3);
    for (const file of release.files) {
      const { stdout } = await run("tar", ["-xzOf", file, "package/package.json"]);
      const pkg = JSON.parse(stdout) as Manifest;
      const needed = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });
      expect(
        needed.filter((name) => internalNames.includes(name)),
        pkg.name,
      ).toEqual([]);
    }
  });
});
