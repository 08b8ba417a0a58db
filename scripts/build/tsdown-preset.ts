// How the public packages are built (tsdown: rolldown for the JavaScript, the TypeScript compiler for
// the declarations). Each public package is one ESM bundle per entry plus .d.ts files in dist/:
//
// - Our internal workspace packages (@flowplane/core, client, db, api, worker) are compiled into the
//   bundle, from their sources, so installing a tarball needs nothing else of ours.
// - Every other import stays an import, and must be one of the package's own `dependencies` or
//   `peerDependencies` (`onlyImport`): a dependency an internal package brings in but the public one
//   forgot to declare fails the build instead of the user's install.
//
// Inside the repository every @flowplane/* package resolves to its TypeScript sources: the public
// packages' `exports` carry a `@flowplane/source` condition (tsc: customConditions; vitest:
// resolve.conditions; child processes in tests: --conditions) ahead of `types`/`default`, which name
// the built files. Published tarballs drop that condition (`publishConfig.exports`), so users only
// ever see dist/. Nothing in the repository's tests reads a sibling's dist/, so a stale build cannot
// be tested by mistake; only the built artifacts themselves (release:pack, the user-project e2e,
// `pnpm flowplane`) use dist/, and they build first.
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

export function publicPackage(
  packageDir: string,
  options: {
    entry: Record<string, string>;
    /** The SDK and the CLI: publish `AppRouter` as tRPC's generic router (publishAppRouterAsGenericRouter). */
    genericAppRouter?: boolean;
  },
): UserConfig {
  const pkg = JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8")) as PackageJson;
  const declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
  const bundled = (specifier: string) =>
    specifier.startsWith("@flowplane/") && !declared.includes(packageName(specifier));
  const isExternal = (id: string) =>
    !id.startsWith(".") && !path.isAbsolute(id) && !id.startsWith("\0") && !bundled(id);
  return {
    cwd: packageDir,
    entry: options.entry,
    outDir: "dist",
    format: "esm",
    platform: "node",
    target: "node22.19",
    fixedExtension: false,
    clean: true,
    sourcemap: false,
    tsconfig: path.join(repoRoot, "tsconfig.build.json"),
    dts: { sourcemap: false, tsc: { eager: true } },
    // Third-party packages are imported for their exports, never for side effects alone, so an import
    // whose bindings are unused is dropped. Without this, re-exports in an internal package's index
    // (the worker's Docker, ECS and Kubernetes implementations) would load every cloud client at
    // every CLI start, even though only the pool type in use is imported, lazily.
    treeshake: { moduleSideEffects: (_id: string, external: boolean) => !external },
    inputOptions: { resolve: { conditionNames: [SOURCE_CONDITION, "import", "node", "default"] } },
    deps: {
      neverBundle: isExternal,
      onlyImport: options.genericAppRouter ? [...declared, "@flowplane/api"] : declared,
      onlyBundle: false,
      ...(options.genericAppRouter
        ? { dts: { neverBundle: (id: string) => id === "@flowplane/api" || isExternal(id) } }
        : {}),
    },
    ...(options.genericAppRouter
      ? { hooks: { "build:done": () => publishAppRouterAsGenericRouter(path.join(packageDir, "dist")) } }
      : {}),
  };
}
