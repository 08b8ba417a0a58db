// install_dependencies: the project's own package manager, chosen by its lockfile, installing
// exactly the lockfile (frozen). node_modules is cached by what decides it (package manager,
// lockfile, package.json, Node's major version and platform): a run whose lockfile was installed
// before, for any commit or deployment, links the cached node_modules and starts at once.
//
// The install itself runs in place (so paths the lockfile records relative to the project stay
// right), under the entry's lock; its node_modules is then moved into the cache and replaced by a
// symbolic link. A failed install keeps nothing in the cache.
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, readFile, readlink, rename, rm, symlink } from "node:fs/promises";
import path from "node:path";
import type { Cache } from "./cache.ts";
import { runCommand, type CommandOptions } from "./command.ts";

export type PackageManager = "npm" | "pnpm" | "yarn";

const LOCKFILES: [string, PackageManager, string[]][] = [
  ["pnpm-lock.yaml", "pnpm", ["install", "--frozen-lockfile", "--config.confirmModulesPurge=false"]],
  ["yarn.lock", "yarn", ["install", "--frozen-lockfile", "--non-interactive"]],
  ["package-lock.json", "npm", ["ci", "--no-audit", "--no-fund"]],
  ["npm-shrinkwrap.json", "npm", ["ci", "--no-audit", "--no-fund"]],
];

/** The lockfile in `dir` and the package manager it belongs to (null: none). */
export function detectPackageManager(
  dir: string,
): { lockfile: string; manager: PackageManager; args: string[] } | null {
  for (const [lockfile, manager, args] of LOCKFILES)
    if (existsSync(path.join(dir, lockfile))) return { lockfile, manager, args };
  return null;
}

export interface InstallContext {
  cache: Cache;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  redactor: CommandOptions["redactor"];
}

export async function installDependencies(
  dir: string,
  ctx: InstallContext,
): Promise<{ directory: string; package_manager: PackageManager }> {
  const found = detectPackageManager(dir);
  if (!found)
    throw new Error(
      `no lockfile in ${dir} (${LOCKFILES.map(([f]) => f).join(", ")}): installs follow a lockfile exactly`,
    );
  const digest = createHash("sha256").update(
    `${found.manager}\0${process.version.split(".")[0]}\0${process.platform}-${process.arch}\0`,
  );
  const lockfile = await readFile(path.join(dir, found.lockfile));
  digest.update(lockfile);
  // Linked packages (workspaces, `link:`/`file:` directories) are the project's own code, which
  // changes without the lockfile: their installs are not shared beyond this directory.
  if (/"link": true|\blink:/.test(lockfile.toString())) digest.update(`\0${dir}`);
  digest.update(await readFile(path.join(dir, "package.json")).catch(() => Buffer.alloc(0)));
  const key = digest.digest("hex").slice(0, 32);
  const link = path.join(dir, "node_modules");
  const result = { directory: dir, package_manager: found.manager };

  const cached = await ctx.cache.lookup("deps", key);
  const target = (entry: string) => path.join(entry, "node_modules");
  if (cached && (await readlink(link).catch(() => null)) === target(cached)) {
    ctx.log(`install_dependencies: ${found.manager} ${found.lockfile} (cached)`);
    return result;
  }
  const entry = await ctx.cache.get("deps", key, async (temp) => {
    ctx.log(`install_dependencies: ${found.manager} ${found.args.join(" ")} in ${dir}`);
    // A link left by another lockfile, or an earlier failed install, must not be installed into.
    await rm(link, { recursive: true, force: true });
    const env = { ...ctx.env, CI: "true", npm_config_update_notifier: "false" };
    await runCommand(found.manager, found.args, { cwd: dir, env, log: ctx.log, redactor: ctx.redactor });
    if (!existsSync(link)) throw new Error(`${found.manager} ${found.args[0]} made no node_modules in ${dir}`);
    await moveDirectory(link, path.join(temp, "node_modules"));
  });
  // Replace whatever is there with the link, atomically: a run starting now sees old or new, never none.
  const tempLink = `${link}.tmp-${randomBytes(4).toString("hex")}`;
  await symlink(target(entry.dir), tempLink);
  await rename(tempLink, link).catch(async (err: NodeJS.ErrnoException) => {
    // A real directory there (a project that shipped its node_modules): the cached install wins.
    if (err.code !== "EISDIR" && err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    await rm(link, { recursive: true, force: true });
    await rename(tempLink, link);
  });
  if (entry.hit) ctx.log(`install_dependencies: ${found.manager} ${found.lockfile} (cached)`);
  return result;
}

/** Renames, or copies then removes when `from` is on another file system than the cache. */
async function moveDirectory(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    await cp(from, to, { recursive: true, verbatimSymlinks: true });
    await rm(from, { recursive: true, force: true });
  }
}
