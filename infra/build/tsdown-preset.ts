// How every workspace package is built (tsdown: rolldown for the JavaScript, the TypeScript compiler
// for the declarations): one ESM bundle per entry plus .d.ts files in dist/. Every import that leaves
// the package must be one of its own `dependencies` or `peerDependencies` (`onlyImport`), so a
// dependency a package forgot to declare fails the build instead of an install.
//
// - Public packages (publicPackage: @flowplane/sdk, flowplane, @flowplane/server) compile our
//   internal packages into their bundle, from the internal packages' sources, so installing a
//   tarball needs nothing else of ours. Every other import stays an import.
// - Internal packages (internalPackage: core, client, db, api, worker, steps) are never published.
//   Their own dist/ serves plain Node inside the repository (`node packages/db/dist/index.js`): each
//   is bundled alone, and importing a sibling stays an import of that sibling's dist/, so every
//   module has one instance however it is reached.
//
// Inside the repository every @flowplane/* package resolves to its TypeScript sources: every
// package's `exports` carry a `@flowplane/source` condition (tsc: customConditions; vitest:
// resolve.conditions; child processes in tests: --conditions) ahead of `types`/`default`, which name
// the built files. Published tarballs drop that condition (`publishConfig.exports`), so users only
// ever see dist/. Nothing in the repository's tests reads a sibling's dist/, so a stale build cannot
// be tested by mistake; only the built artifacts themselves (release:pack, the user-project e2e,
// `pnpm flowplane`, e2e/package-builds.test.ts) use dist/, and they build first.
import { readFileSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { UserConfig } from "tsdown";

export const SOURCE_CONDITION = "@flowplane/source";
const repoRoot = path.resolve(import.meta.dirname, "../..");

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Bare specifier → package name (`@scope/name/sub` → `@scope/name`). */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/**
 * Declarations name `AppRouter` from our API package, whose real type is inferred from the control
 * plane's services and their Prisma models. Shipping it would make the published types depend on the
 * server's, so the API package stays out of the declaration bundle and, once written, that one import
 * is pointed at tRPC's generic router type: published declarations type the API client as a client of
 * some tRPC router, while inside this repository the real type applies.
 */
async function publishAppRouterAsGenericRouter(outDir: string): Promise<void> {
  for (const file of await readdir(outDir)) {
    if (!file.endsWith(".d.ts")) continue;
    const text = await readFile(path.join(outDir, file), "utf8");
    const rewritten = text.replace(
      /import (type )?\{ AppRouter \} from "@flowplane\/api";/g,
      'import type { AnyTRPCRouter as AppRouter } from "@trpc/server";',
    );
    if (/@flowplane\/api/.test(rewritten))
      throw new Error(`${file}: declarations use more of @flowplane/api than AppRouter; the published types cannot`);
    if (rewritten !== text) await writeFile(path.join(outDir, file), rewritten);
  }
}

/** A bare import that `bundled` does not compile in stays an import. */
function externalUnless(bundled: (specifier: string) => boolean) {
  return (id: string) => !id.startsWith(".") && !path.isAbsolute(id) && !id.startsWith("\0") && !bundled(id);
}

/**
 * What every package's build shares; `bundled` says which bare imports are compiled in. `eagerTypes`
 * loads every file of tsconfig.build.json into the declaration program instead of only what the
 * entries reach.
 */
function packageBuild(
  packageDir: string,
  entry: Record<string, string>,
  declared: string[],
  bundled: (specifier: string) => boolean,
  eagerTypes: boolean,
): UserConfig {
  return {
    cwd: packageDir,
    entry,
    outDir: "dist",
    format: "esm",
    platform: "node",
    target: "node22.19",
    fixedExtension: false,
    clean: true,
    sourcemap: false,
    tsconfig: path.join(repoRoot, "tsconfig.build.json"),
    // The TypeScript resolver honours tsconfig's customConditions; the default one does not, and once
    // an internal package was built it took that sibling's dist/*.d.ts instead of its sources, so the
    // declarations depended on what had been built before.
    dts: { sourcemap: false, resolver: "tsc", tsc: { eager: eagerTypes } },
    // Third-party packages are imported for their exports, never for side effects alone, so an import
    // whose bindings are unused is dropped. Without this, re-exports in an internal package's index
    // (the worker's Docker, ECS and Kubernetes implementations) would load every cloud client at
    // every CLI start, even though only the pool type in use is imported, lazily.
    treeshake: { moduleSideEffects: (_id: string, external: boolean) => !external },
    inputOptions: { resolve: { conditionNames: [SOURCE_CONDITION, "import", "node", "default"] } },
    deps: { neverBundle: externalUnless(bundled), onlyImport: declared, onlyBundle: false },
  };
}

function readPackageJson(packageDir: string): PackageJson {
  return JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8")) as PackageJson;
}

export function publicPackage(
  packageDir: string,
  options: {
    entry: Record<string, string>;
    /** The SDK and the CLI: publish `AppRouter` as tRPC's generic router (publishAppRouterAsGenericRouter). */
    genericAppRouter?: boolean;
  },
): UserConfig {
  const pkg = readPackageJson(packageDir);
  const declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
  const bundled = (specifier: string) =>
    specifier.startsWith("@flowplane/") && !declared.includes(packageName(specifier));
  // The public declarations bundle the internal packages' types, which the declaration bundler only
  // finds with the whole repository loaded.
  const config = packageBuild(packageDir, options.entry, declared, bundled, true);
  if (!options.genericAppRouter) return config;
  const isExternal = externalUnless(bundled);
  return {
    ...config,
    deps: {
      ...config.deps,
      onlyImport: [...declared, "@flowplane/api"],
      dts: { neverBundle: (id: string) => id === "@flowplane/api" || isExternal(id) },
    },
    hooks: { "build:done": () => publishAppRouterAsGenericRouter(path.join(packageDir, "dist")) },
  };
}

/**
 * An internal package: nothing is compiled in but its own sources. Its entries for tests only (a
 * `testing` export) may import its devDependencies, which the repository always has installed.
 */
export function internalPackage(packageDir: string, options: { entry: Record<string, string> }): UserConfig {
  const pkg = readPackageJson(packageDir);
  const declared = [
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...Object.keys(pkg.devDependencies ?? {}),
  ];
  // Only what the entries reach: a third of the time, and a type re-exported by a sibling stays named
  // from its own module (eagerly, the API's declarations named one type through @flowplane/client,
  // a package that depends on the API).
  return packageBuild(packageDir, options.entry, declared, () => false, false);
}
