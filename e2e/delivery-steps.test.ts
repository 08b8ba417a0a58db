// The pull steps against real servers on loopback, in-process: git over smart HTTP behind basic
// auth (credentials by secret reference), git daemon for branches and sparse checkouts, and the
// failures a run reports by step name.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSteps, StepFailedError, type StepSpec } from "@flowplane/steps";
import { git, startGitDaemon, startGitHttp, type GitDaemon, type GitHttpServer } from "./support/git-servers.ts";
import { writeBrokenLockfile, writeProject } from "./support/delivery-project.ts";
import { startRegistry } from "./support/registry.ts";

const run = promisify(execFile);

let root: string;
let http: GitHttpServer;
let daemon: GitDaemon;
let commit: string;
const password = `pw-${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "flowplane-steps-"));
  const srv = path.join(root, "srv");
  const work = path.join(root, "work");
  await mkdir(path.join(work, "flows"), { recursive: true });
  await mkdir(path.join(work, "docs"), { recursive: true });
  await writeFile(path.join(work, "flows/etl.ts"), "export const x = 1;\n");
  await writeFile(path.join(work, "docs/big.md"), "not wanted in a sparse checkout\n");
  await git(work, "init", "--quiet", "--initial-branch=main");
  await git(work, "add", ".");
  await git(work, "commit", "--quiet", "-m", "one");
  await git(work, "tag", "-a", "v1", "-m", "v1");
  commit = await git(work, "rev-parse", "HEAD");
  await git(root, "clone", "--quiet", "--bare", work, path.join(srv, "app.git"));
  http = await startGitHttp(srv, "ci", password);
  daemon = await startGitDaemon(srv);
}, 60_000);

afterAll(async () => {
  await http?.close();
  await daemon?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function pull(steps: StepSpec[], secrets: Record<string, string> = {}) {
  const lines: string[] = [];
  const home = await mkdtemp(path.join(root, "home-"));
  try {
    const result = await runSteps(steps, "pull", {
      cwd: root,
      home,
      env: { ...process.env, GIT_USER: "ci" },
      log: (line) => lines.push(line),
      resolveNamed: async (refs) => ({
        secrets: Object.fromEntries(refs.secrets.filter((n) => n in secrets).map((n) => [n, secrets[n]!])),
        variables: {},
        missing: refs.secrets.filter((n) => !(n in secrets)).map((n) => `secret "${n}"`),
      }),
    });
    return { result, lines, home };
  } catch (err) {
    return { error: err as Error, lines, home };
  }
}

describe("git_clone", () => {
  it("clones over HTTP with credentials by reference, sending them only as the header, never logging them", async () => {
    const { result, lines } = await pull(
      [
        {
          id: "code",
          git_clone: {
            repository: http.url("app.git"),
            branch: "main",
            credentials: { username: "{{ env.GIT_USER }}", password: "{{ secret.GIT_TOKEN }}" },
          },
        },
      ],
      { GIT_TOKEN: password },
    );
    expect(result?.outputs["code.commit"]).toBe(commit);
    expect((await readdir(result!.cwd)).sort()).toEqual(["docs", "flows"]);
    expect(http.requests.some((r) => r.authorized)).toBe(true);
    expect(lines.join("\n")).not.toContain(password);
  });

  it("names the step and says authentication failed when the password is wrong", async () => {
    const { error, lines } = await pull(
      [
        {
          git_clone: {
            repository: http.url("app.git"),
            commit,
            credentials: { username: "ci", password: "{{ secret.WRONG }}" },
          },
        },
      ],
      { WRONG: "not-the-password" },
    );
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error!.message).toMatch(/^pull step 1 \(git_clone\) failed: authentication failed/);
    expect(`${error!.message}${lines.join("\n")}`).not.toContain("not-the-password");
  });

  it("fails on a commit the repository does not have, leaving no cache entry", async () => {
    const missing = "0123456789abcdef0123456789abcdef01234567";
    const { error, home } = await pull([{ git_clone: { repository: daemon.url("app.git"), commit: missing } }]);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error!.message).toContain("pull step 1 (git_clone) failed");
    expect(error!.message).toContain(missing);
    expect((await readdir(path.join(home, "cache/git"))).filter((e) => !e.startsWith("."))).toEqual([]);
  });

  it("checks out only the sparse paths, from a tag resolved where the step runs", async () => {
    const { result, lines } = await pull([
      { id: "c", git_clone: { repository: daemon.url("app.git"), branch: "v1", sparse: ["flows"] } },
      { set_working_directory: { directory: "{{ c.directory }}/flows" } },
    ]);
    expect(result?.outputs["c.commit"]).toBe(commit);
    expect(await readdir(path.join(result!.cwd, ".."))).toEqual(["flows"]);
    expect(path.basename(result!.cwd)).toBe("flows");
    expect(lines.some((l) => l.includes("set_working_directory done"))).toBe(true);
  });

  it("fails naming a secret that does not exist, before any step runs", async () => {
    const { error } = await pull([
      { install_dependencies: {} },
      { git_clone: { repository: http.url("app.git"), credentials: { password: "{{ secret.NOPE }}" } } },
    ]);
    expect(error!.message).toBe('pull step 2 (git_clone) failed: secret "NOPE" does not exist');
  });
});

describe("download_bundle", () => {
  it("names an unreachable bucket and leaves nothing behind", async () => {
    const { freePort } = await import("./support/server-process.ts");
    const port = await freePort();
    const { error, home } = await pull(
      [
        {
          download_bundle: {
            bucket: "bundles",
            key: "flowplane/bundles/x.tar.gz",
            sha256: "a".repeat(64),
            endpoint: `http://127.0.0.1:${port}`,
            access_key_id: "k",
            secret_access_key: "{{ secret.S3 }}",
          },
        },
      ],
      { S3: "s3-secret-value" },
    );
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error!.message).toBe(
      `pull step 1 (download_bundle) failed: download of flowplane/bundles/x.tar.gz from bucket "bundles" at http://127.0.0.1:${port}: unreachable`,
    );
    expect((await readdir(path.join(home, "cache/bundles"))).filter((e) => !e.startsWith("."))).toEqual([]);
  });
});

describe("install_dependencies", () => {
  it("fails on a lockfile that cannot install, naming the step with npm's output, and leaves no cache entry", async () => {
    const dir = await mkdtemp(path.join(root, "project-"));
    const tarball = await writeBrokenLockfile(dir);
    const { error, lines, home } = await pull([{ install_dependencies: { directory: dir } }]);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error!.message).toMatch(/^pull step 1 \(install_dependencies\) failed: npm ci exited with code \d+: /);
    // npm's own words, in the failure and in the step's log.
    const missing = `ENOENT: no such file or directory, open '${tarball}'`;
    expect(error!.message).toContain(missing);
    expect(lines).toContain(`install_dependencies: npm ci --no-audit --no-fund in ${dir}`);
    expect(lines.some((line) => line.startsWith("npm error") && line.includes(missing))).toBe(true);
    // The install ran under the cache and kept nothing there, nor a node_modules in the project.
    expect(await readdir(path.join(home, "cache/deps"))).toEqual([]);
    expect(existsSync(path.join(dir, "node_modules"))).toBe(false);
  }, 60_000);

  // Corepack's yarn cannot be fetched offline here: pnpm (on PATH) is the other manager tested.
  it("installs with pnpm, frozen, when the project has a pnpm-lock.yaml, and caches the install", async () => {
    // The delivery tests' project, its npm lockfile and install replaced by pnpm's lockfile.
    const dir = await mkdtemp(path.join(root, "project-"));
    await writeProject(dir, root);
    await rm(path.join(dir, "package-lock.json"));
    await rm(path.join(dir, "node_modules"), { recursive: true });
    await run("pnpm", ["install", "--lockfile-only", "--offline"], { cwd: dir });
    expect(existsSync(path.join(dir, "pnpm-lock.yaml"))).toBe(true);

    const first = await pull([{ id: "deps", install_dependencies: { directory: dir } }]);
    expect(first.error, first.lines.join("\n")).toBeUndefined();
    expect(first.result!.outputs["deps.package_manager"]).toBe("pnpm");
    expect(first.lines).toContain(
      `install_dependencies: pnpm install --frozen-lockfile --config.confirmModulesPurge=false in ${dir}`,
    );
    const { greet } = (await import(path.join(dir, "node_modules/greet/index.js"))) as {
      greet: (who: string) => string;
    };
    expect(greet("pnpm")).toBe("hello, pnpm, from an installed dependency");
    // One entry (beside it, its record), which the project's node_modules links to.
    const entries = (await readdir(path.join(first.home, "cache/deps"))).filter((e) => !e.startsWith("."));
    expect(entries).toHaveLength(2);
    const entry = entries.find((e) => !e.endsWith(".entry.json"))!;
    expect(entries).toContain(`${entry}.entry.json`);
    expect(await readlink(path.join(dir, "node_modules"))).toBe(
      path.join(first.home, "cache/deps", entry, "node_modules"),
    );
  }, 120_000);
});

describe("docker_build and docker_push", () => {
  it("pushes with registry credentials by reference, and names the step when they are wrong", async () => {
    const IMAGE = process.env.FLOWPLANE_TEST_IMAGE ?? "flowplane-node:test";
    const registryPassword = `reg-${Math.random().toString(36).slice(2)}`;
    const registry = await startRegistry({ username: "ci", password: registryPassword });
    const context = await mkdtemp(path.join(root, "image-"));
    await writeFile(path.join(context, "Dockerfile"), `FROM ${IMAGE}\nCOPY hello.txt /hello.txt\n`);
    await writeFile(path.join(context, "hello.txt"), "hello\n");
    const home = await mkdtemp(path.join(root, "home-"));
    const lines: string[] = [];
    const ship = async (password: string) => {
      const built = await runSteps([{ id: "image", docker_build: { image: `${registry.host}/tiny` } }], "build", {
        cwd: context,
        home,
        env: process.env,
        log: (line) => lines.push(line),
      });
      return runSteps(
        [
          {
            id: "pushed",
            docker_push: {
              image: "{{ image.image }}",
              credentials: { username: "ci", password: "{{ env.REGISTRY_PASSWORD }}" },
            },
          },
        ],
        "push",
        {
          cwd: context,
          home,
          env: { ...process.env, REGISTRY_PASSWORD: password },
          log: (line) => lines.push(line),
          outputs: built.outputs,
        },
      );
    };
    try {
      const pushed = await ship(registryPassword);
      expect(pushed.outputs["pushed.image"]).toMatch(new RegExp(`^${registry.host}/tiny@sha256:[0-9a-f]{64}$`));
      const refused = await ship("wrong-password").catch((err: Error) => err);
      expect(refused).toBeInstanceOf(StepFailedError);
      expect((refused as Error).message).toMatch(
        /^push step 1 \(docker_push "pushed"\) failed: push of .*(unauthorized|authentication required|no basic auth)/is,
      );
      expect(`${(refused as Error).message}\n${lines.join("\n")}`).not.toContain(registryPassword);
      expect((refused as Error).message).not.toContain("wrong-password");
    } finally {
      await registry.close();
    }
  }, 240_000);
});
