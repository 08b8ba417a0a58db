// git_clone where a run starts, and what `flowplane deploy` learns from the deployer's repository.
//
// A run's code comes from a checkout cached by repository and commit: the first run of a commit
// fetches it into a per-repository bare mirror (only that commit when shallow) and extracts its tree
// with `git archive` (only the sparse paths when given); every later run of that commit, of any
// deployment, finds the checkout and touches no network. A branch or tag is resolved to its commit
// with one `git ls-remote` first. Credentials go to git as an HTTP header through GIT_CONFIG_*
// variables: never in the URL, the mirror's config, argv or the logs.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Cache } from "./cache.ts";
import { runCommand, type CommandOptions } from "./command.ts";
import type { StepArguments } from "./schema.ts";

const SHA_RE = /^[0-9a-f]{40}$/;

export interface GitContext {
  cache: Cache;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  redactor: CommandOptions["redactor"];
}

/** The environment git runs with: never prompts, and carries the credentials as a header. */
function gitEnv(ctx: GitContext, credentials: StepArguments<"git_clone">["credentials"]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...ctx.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "", SSH_ASKPASS: "" };
  // A stray GIT_DIR (e.g. from a hook) would point every command at another repository.
  delete env.GIT_DIR;
  delete env.GIT_WORK_TREE;
  if (credentials) {
    const basic = Buffer.from(`${credentials.username ?? "git"}:${credentials.password}`).toString("base64");
    ctx.redactor?.add(basic);
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = "http.extraHeader";
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
  }
  return env;
}

/** The repository URL without user info (the cache key and what logs show). */
export function publicUrl(repository: string): string {
  try {
    const url = new URL(repository);
    url.username = "";
    url.password = "";
    return url.toString();
  } catch {
    return repository; // scp-like `git@host:path`
  }
}

/** Git's own words for a refused login are a prompt it could not show; say what happened. */
function explain(err: unknown): never {
  const message = (err as Error).message;
  if (/could not read (Username|Password)|Authentication failed|HTTP 401|403/.test(message))
    throw new Error(`authentication failed (check the step's credentials): ${message}`);
  throw err as Error;
}

export async function gitClone(
  args: StepArguments<"git_clone">,
  ctx: GitContext,
): Promise<{ directory: string; commit: string }> {
  const env = gitEnv(ctx, args.credentials);
  const repository = publicUrl(args.repository);
  const repoKey = createHash("sha256").update(repository).digest("hex").slice(0, 24);
  const git = (gitArgs: string[], cwd: string, quiet = true) =>
    runCommand("git", gitArgs, { cwd, env, log: ctx.log, redactor: ctx.redactor, quiet });

  let commit = args.commit?.toLowerCase() ?? null;
  if (commit !== null && !SHA_RE.test(commit))
    throw new Error(`commit ${JSON.stringify(args.commit)}: expected a full 40-character commit SHA`);
  if (commit === null) {
    const ref = args.branch ?? "HEAD";
    const listed = await git(["ls-remote", args.repository, ref, `${ref}^{}`], os.tmpdir()).catch(explain);
    const line = listed
      .split("\n")
      .map((l) => l.split("\t"))
      .find(([, name]) => name === ref || name === `refs/heads/${ref}` || name === `refs/tags/${ref}`);
    // An annotated tag lists its peeled commit as `refs/tags/X^{}`; prefer it.
    const peeled = listed.split("\n").find((l) => l.endsWith(`refs/tags/${ref}^{}`));
    commit = (peeled?.split("\t")[0] ?? line?.[0] ?? "").trim() || null;
    if (!commit) throw new Error(`branch or tag "${ref}" not found in ${repository}`);
  }
  const sparse = args.sparse ? [...args.sparse].sort() : null;
  const key = sparse
    ? `${repoKey}-${commit}-${createHash("sha256").update(sparse.join("\0")).digest("hex").slice(0, 12)}`
    : `${repoKey}-${commit}`;
  const found = await ctx.cache.lookup("git", key);
  if (found) {
    ctx.log(`git_clone: ${repository} at ${commit.slice(0, 12)} (cached)`);
    return { directory: found, commit };
  }
  const entry = await ctx.cache.get("git", key, async (dir) => {
    const mirror = path.join(ctx.cache.root, "git-mirrors", `${repoKey}.git`);
    await ctx.cache.withLock(`mirror-${repoKey}`, async () => {
      if (!existsSync(path.join(mirror, "HEAD"))) {
        await mkdir(mirror, { recursive: true });
        await git(["init", "--bare", "--quiet", mirror], mirror);
      }
      const present = await git(["cat-file", "-e", `${commit}^{commit}`], mirror).then(
        () => true,
        () => false,
      );
      if (present) return;
      ctx.log(`git_clone: fetching ${commit!.slice(0, 12)} from ${repository}`);
      const depth = args.shallow === false ? [] : ["--depth", "1"];
      try {
        await git(["fetch", "--quiet", "--no-tags", ...depth, args.repository, commit!], mirror, false).catch(explain);
      } catch (err) {
        // Servers that refuse to send an unadvertised commit: fetch its branch (or all heads).
        const refspec = args.branch ? [args.branch] : ["+refs/heads/*:refs/remotes/origin/*"];
        await git(["fetch", "--quiet", "--no-tags", args.repository, ...refspec], mirror, false).catch(() => {
          throw err;
        });
      }
      const fetched = await git(["cat-file", "-e", `${commit}^{commit}`], mirror).then(
        () => true,
        () => false,
      );
      if (!fetched) throw new Error(`commit ${commit} is not in ${repository}`);
    });
    // The tree alone: runs need the files, not the history (and no .git to keep consistent).
    const archive = ["--git-dir", mirror, "archive", "--format=tar", commit!, ...(sparse ? ["--", ...sparse] : [])];
    const { spawn } = await import("node:child_process");
    await new Promise<void>((resolve, reject) => {
      const producer = spawn("git", archive, { env, stdio: ["ignore", "pipe", "pipe"] });
      const extractor = spawn("tar", ["-x", "-C", dir], { stdio: ["pipe", "ignore", "pipe"] });
      let errors = "";
      producer.stderr.on("data", (d: Buffer) => (errors += d.toString()));
      extractor.stderr.on("data", (d: Buffer) => (errors += d.toString()));
      producer.stdout.pipe(extractor.stdin);
      let pending = 2;
      const done = (code: number | null) => {
        if (code !== 0) reject(new Error(`git archive of ${commit}: ${errors.trim() || `exit ${code}`}`));
        else if (--pending === 0) resolve();
      };
      producer.once("close", done);
      extractor.once("close", done);
    });
  });
  ctx.log(`git_clone: ${repository} at ${commit.slice(0, 12)}${entry.hit ? " (cached)" : ""}`);
  return { directory: entry.dir, commit };
}

/** What deploy needs to know about the project's repository (null: not in a git work tree). */
export interface GitProject {
  root: string;
  commit: string;
  /** The remote's URL, when there is a remote. */
  remote: { name: string; url: string } | null;
  dirty: boolean;
  /** The commit is on a remote-tracking branch (as of the last fetch). */
  pushed: boolean;
}

export async function gitProject(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<GitProject | null> {
  const git = (args: string[]) => runCommand("git", args, { cwd: dir, env, quiet: true }).then((s) => s.trim());
  let root: string;
  try {
    root = await git(["rev-parse", "--show-toplevel"]);
  } catch {
    return null;
  }
  const commit = await git(["rev-parse", "HEAD"]).catch(() => "");
  if (!SHA_RE.test(commit)) return null;
  const remotes = (await git(["remote"])).split("\n").filter(Boolean);
  const upstream = await git(["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"]).catch(() => "");
  const name =
    remotes.find((r) => upstream.startsWith(`${r}/`)) ?? (remotes.includes("origin") ? "origin" : remotes[0]);
  const remote = name ? { name, url: await git(["remote", "get-url", name]) } : null;
  const dirty = (await git(["status", "--porcelain", "--untracked-files=no"])) !== "";
  const pushed = remote ? (await git(["branch", "-r", "--contains", commit]).catch(() => "")) !== "" : false;
  return { root, commit, remote, dirty, pushed };
}
