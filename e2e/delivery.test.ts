// Code delivery to a worker that cannot see the deployer's files: the deployer's project is a git
// repository on a real `git daemon` (and a bundle in a real S3-compatible server), it is deployed
// with `flowplane deploy`, then deleted; a worker in another directory, with its own
// FLOWPLANE_HOME, runs the deployments to COMPLETED through their pull steps.
//
// The projects have their own lockfile and a dependency installed from it (a tarball inside the
// project, so no registry is involved). @flowplane/sdk stands installed beside the worker's home,
// as the machine's own copy (the repository's SDK sources: packing it would take minutes).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exited,
  outputOf,
  repoRoot,
  runCli,
  spawnCli,
  startTestServer,
  waitForRun,
  type TestServer,
} from "./harness.ts";
import { defaultBaseJobTemplate } from "@flowplane/core";
import { git, startGitDaemon, type GitDaemon } from "./support/git-servers.ts";
import { releaseWorkerImage } from "./support/release.ts";
import { startRegistry } from "./support/registry.ts";
import { freePort } from "./support/server-process.ts";
import { startS3, type S3Server } from "./support/s3.ts";
import { FLOW, writeBrokenLockfile, writeProject as writeProjectIn } from "./support/delivery-project.ts";

const run = promisify(execFile);
let server: TestServer;
let daemon: GitDaemon;
let s3: S3Server;
/** Workers run with a worker key, as in production (only they and runs may read secrets). */
let workerKey: string;
let root: string;
const pool = "delivery";

const writeProject = (dir: string) => writeProjectIn(dir, root);

/** The environment of the deployer: a user's shell, in a git repository of its own. */
function deployerEnv(extra: Record<string, string> = {}): Record<string, string> {
  const { GIT_DIR: _ignored, ...env } = server.env;
  return { ...env, ...extra };
}

async function deploy(cwd: string, extra: Record<string, string> = {}, flags: string[] = []) {
  const env = deployerEnv(extra);
  const result = await runCli(["deploy", "--json", ...flags], env, { cwd, timeoutMs: 120_000 });
  expect(result.code, result.stderr).toBe(0);
  return {
    ...result,
    json: JSON.parse(result.stdout) as {
      deployment: string;
      version: number;
      changed: string[];
      codeVersion: string | null;
    }[],
  };
}

/** A worker elsewhere: its own directory and FLOWPLANE_HOME; it runs what is due, then exits. */
async function runWorker(home: string, pool: string, extra: Record<string, string> = {}) {
  const cwd = path.join(root, "worker");
  await mkdir(cwd, { recursive: true });
  const { GIT_DIR: _ignored, ...env } = server.env;
  const worker = spawnCli(
    ["worker", "start", "--pool", pool, "--run-once"],
    { ...env, FLOWPLANE_API_KEY: workerKey, FLOWPLANE_HOME: home, ...extra },
    cwd,
  );
  const code = await exited(worker);
  return { code, output: outputOf(worker) };
}

async function logsOf(id: string): Promise<string> {
  const logs = await runCli(["flow-run", "logs", id], server.env);
  return logs.stdout;
}

/**
 * Runs the deployment once on a worker elsewhere (see runWorker) and expects it COMPLETED, the
 * failure message carrying the run's logs and the worker's output.
 */
async function runToCompletion(deployment: string, home: string, pool: string) {
  const { id } = await server.api.deployments.run.mutate({ name: deployment });
  const worker = await runWorker(home, pool);
  expect(worker.code, worker.output).toBe(0);
  const done = await waitForRun(
    server,
    id,
    "finished",
    (r) => r.state.type !== "PENDING" && r.state.type !== "RUNNING",
  );
  const logs = await logsOf(id);
  expect(done.state.type, `${done.state.message}\n${logs}\n${worker.output}`).toBe("COMPLETED");
  return { id, done, logs };
}

/**
 * The deployer's directory deleted, `deployment` runs to COMPLETED on a worker elsewhere (see
 * runToCompletion) with the code version it was deployed with, saying hello to `who`.
 */
async function runWithoutDeployer(
  deployerDir: string,
  deployment: string,
  run: { home: string; pool: string; codeVersion: string; who: string },
) {
  await rm(deployerDir, { recursive: true, force: true });
  const result = await runToCompletion(deployment, run.home, run.pool);
  expect(result.done.codeVersion).toBe(run.codeVersion);
  expect(result.logs).toContain(`hello, ${run.who}, from an installed dependency`);
  return result;
}

beforeAll(async () => {
  server = await startTestServer();
  root = await mkdtemp(path.join(os.tmpdir(), "flowplane-delivery-"));
  // The machine's SDK, found by the runner walking up from the delivered code.
  await mkdir(path.join(root, "node_modules/@flowplane"), { recursive: true });
  await symlink(path.join(repoRoot, "packages/sdk"), path.join(root, "node_modules/@flowplane/sdk"));
  await mkdir(path.join(root, "srv"));
  daemon = await startGitDaemon(path.join(root, "srv"));
  s3 = await startS3(["bundles"]);
  workerKey = (await server.api.apiKeys.create.mutate({ name: "delivery-worker", scope: "WORKER" })).key;
  const created = await runCli(["work-pool", "create", pool, "--type", "process"], server.env);
  expect(created.code, created.stderr).toBe(0);
  const secret = await runCli(["secret", "set", "BUNDLE_S3_SECRET"], server.env, {
    stdin: `${s3.secretAccessKey}\n`,
  });
  expect(secret.code, secret.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await daemon?.close();
  await s3?.close();
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** flowplane.yaml uploading the project at deploy and downloading it (with a secret) at each run. */
const bundleYaml = (name: string, sha256 = "{{ upload.sha256 }}", onPool = pool) =>
  [
    "push:",
    "  - id: upload",
    "    upload_bundle:",
    "      bucket: bundles",
    `      endpoint: ${s3.endpoint}`,
    "      access_key_id: S3RVER",
    '      secret_access_key: "{{ env.BUNDLE_S3_SECRET }}"',
    "pull:",
    "  - download_bundle:",
    '      bucket: "{{ upload.bucket }}"',
    '      key: "{{ upload.key }}"',
    `      sha256: "${sha256}"`,
    `      endpoint: ${s3.endpoint}`,
    "      access_key_id: S3RVER",
    '      secret_access_key: "{{ secret.BUNDLE_S3_SECRET }}"',
    "  - install_dependencies: {}",
    "deployments:",
    `  - name: ${name}`,
    "    entrypoint: flows/etl.ts:delivered",
    `    pool: ${onPool}`,
    "    parameters: { who: bundle }",
    "",
  ].join("\n");

/** A bundle run's logs: the download verified, and the storage secret nowhere. */
function expectVerifiedBundle(logs: string) {
  expect(logs).toContain("sha256 verified");
  // s3rver's secret is also its access key id, which the logs may name: look for the argument instead.
  expect(logs).not.toContain(s3.secretAccessKey === "S3RVER" ? "secret_access_key" : s3.secretAccessKey);
}

/** A user's project at `project` with `yaml` as its flowplane.yaml, deployed (uploading its bundle). */
async function deployBundled(project: string, yaml: string) {
  await mkdir(project, { recursive: true });
  await writeProject(project);
  await writeFile(path.join(project, "flowplane.yaml"), yaml);
  return deploy(project, { BUNDLE_S3_SECRET: s3.secretAccessKey });
}

/**
 * A git repository on the daemon holding a user's project (written by `write`), checked out at
 * `project`; answers its commit.
 */
async function gitProjectOnDaemon(
  name: string,
  project: string,
  yaml: string,
  write: (dir: string) => Promise<unknown> = writeProject,
): Promise<string> {
  const bare = path.join(root, `srv/${name}.git`);
  await git(root, "init", "--bare", "--quiet", "--initial-branch=main", bare);
  await mkdir(project, { recursive: true });
  await write(project);
  await writeFile(path.join(project, "flowplane.yaml"), yaml);
  await git(project, "init", "--quiet", "--initial-branch=main");
  await git(project, "add", ".");
  await git(project, "commit", "--quiet", "-m", name);
  await git(project, "remote", "add", "origin", daemon.url(`${name}.git`));
  // git daemon serves read-only: push by path, then fetch as a clone of the server would have it.
  await git(project, "push", "--quiet", bare, "main");
  await git(project, "fetch", "--quiet", "origin");
  return git(project, "rev-parse", "HEAD");
}

/** A project whose flow.ts is the repository's hello example (deploy loads it to read the flow). */
async function helloProject(dir: string) {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, "flow.ts"),
    'export { hello } from "' + path.join(repoRoot, "examples/hello.ts") + '";\n',
  );
}

const helloYaml = (name: string) =>
  `deployments:\n  - name: ${name}\n    entrypoint: flow.ts:hello\n    pool: ${pool}\n`;

describe("flowplane.yaml steps", () => {
  it("refuses an unknown step or argument with its place in the file, and writes nothing", async () => {
    const dir = await mkdtemp(path.join(root, "refused-"));
    await helloProject(dir);
    const file = (pull: string) =>
      writeFile(
        path.join(dir, "flowplane.yaml"),
        `pull:\n${pull}\ndeployments:\n  - name: refused\n    entrypoint: flow.ts:hello\n    pool: ${pool}\n`,
      );
    await file("  - git_clone: { repository: https://git.example/x.git }\n  - gitclone: { repository: x }");
    const unknownStep = await runCli(["deploy"], deployerEnv(), { cwd: dir });
    expect(unknownStep.code).toBe(2);
    expect(unknownStep.stderr).toContain("flowplane.yaml pull[1].gitclone: unknown step (known: git_clone,");
    await file("  - git_clone: { repository: https://git.example/x.git, brnch: main }");
    const unknownArgument = await runCli(["deploy"], deployerEnv(), { cwd: dir });
    expect(unknownArgument.code).toBe(2);
    expect(unknownArgument.stderr).toContain(
      "flowplane.yaml pull[0].git_clone.brnch: unknown argument (known: repository,",
    );
    expect((await server.api.deployments.list.query()).map((d) => d.name)).not.toContain("refused");
  }, 60_000);
});

describe("deploy's default delivery", () => {
  it("warns when the tree is dirty, when the commit is not on the remote, and outside git that only workers on this filesystem can run it", async () => {
    const project = path.join(root, "warned/etl");
    await gitProjectOnDaemon("warned", project, helloYaml("warned"), helloProject);
    const clean = await deploy(project);
    expect(clean.stderr).not.toContain("warning:");

    // A tracked file changed: the runs get the commit, not the change.
    await writeFile(path.join(project, "flow.ts"), "// changed\n", { flag: "a" });
    const dirty = await deploy(project);
    expect(dirty.stderr).toContain("warning: the working tree has uncommitted changes: runs get the commit, not them");

    // Committed but not pushed: workers could not fetch it.
    await git(project, "commit", "--quiet", "-am", "not pushed");
    const local = await git(project, "rev-parse", "HEAD");
    const unpushed = await deploy(project);
    expect(unpushed.json[0]!.codeVersion).toBe(`git:${local}`);
    expect(unpushed.stderr).toContain(
      `warning: commit ${local.slice(0, 12)} is not on remote origin: push it, or workers cannot fetch it`,
    );
    expect(unpushed.stderr).not.toContain("uncommitted changes");

    // Outside git: the deployer's directory is the run's, and deploy says who can see it.
    const outside = await mkdtemp(path.join(root, "outside-"));
    await helloProject(outside);
    await writeFile(path.join(outside, "flowplane.yaml"), helloYaml("outside"));
    const local2 = await deploy(outside);
    expect(local2.json[0]!.codeVersion).toBeNull();
    expect(local2.stderr).toContain(
      `warning: not in a git repository: runs use ${outside}, which only workers on this filesystem can see (add pull steps to deliver the code)`,
    );
    expect(await server.api.deployments.get.query({ name: "hello/outside" })).toMatchObject({
      path: outside,
      pullSteps: null,
    });
  }, 120_000);
});

describe("git delivery", () => {
  it("deploys a git_clone of the current commit by default, and a worker elsewhere runs it with its dependencies", async () => {
    const project = path.join(root, "deployer/etl");
    const commit = await gitProjectOnDaemon(
      "etl",
      project,
      `deployments:\n  - name: from-git\n    entrypoint: flows/etl.ts:delivered\n    pool: ${pool}\n    parameters: { who: git }\n`,
    );

    const deployed = await deploy(project);
    expect(deployed.stderr).toContain(`pull: git_clone of ${daemon.url("etl.git")} at ${commit.slice(0, 12)}`);
    expect(deployed.json[0]!.codeVersion).toBe(`git:${commit}`);
    const inspect = JSON.parse(
      (await runCli(["deployment", "inspect", "delivered/from-git", "--json"], server.env)).stdout,
    ) as {
      path: string | null;
      pullSteps: unknown[];
      codeVersion: string;
    };
    expect(inspect.path).toBeNull();
    expect(inspect.pullSteps).toEqual([
      { id: "clone", git_clone: { repository: daemon.url("etl.git"), commit } },
      { install_dependencies: {} },
    ]);
    expect(inspect.codeVersion).toBe(`git:${commit}`);

    // The worker has no access to the deployer's files.
    const home = path.join(root, "worker-home");
    const { id, logs } = await runWithoutDeployer(path.join(root, "deployer"), "delivered/from-git", {
      home,
      pool,
      codeVersion: `git:${commit}`,
      who: "git",
    });
    expect(logs).toContain(`git_clone: ${daemon.url("etl.git")} at ${commit.slice(0, 12)}`);
    expect(logs).toContain(`cwd ${path.join(home, "cache/git")}`);
    expect(existsSync(path.join(home, "cache/deps"))).toBe(true);
    // People see which code ran, and which code a deployment delivers.
    expect((await runCli(["flow-run", "inspect", id], server.env)).stdout).toMatch(
      new RegExp(`^code +git:${commit}$`, "m"),
    );
    const described = (await runCli(["deployment", "inspect", "delivered/from-git"], server.env)).stdout;
    expect(described).toMatch(new RegExp(`^code +git:${commit}$`, "m"));
    expect(described).toMatch(/^pull +git_clone → install_dependencies$/m);

    // A second run starts from the caches: no fetch, no install.
    const second = await server.api.deployments.run.mutate({ name: "delivered/from-git" });
    expect((await runWorker(home, pool)).code).toBe(0);
    await waitForRun(server, second.id, "COMPLETED", (r) => r.state.type === "COMPLETED");
    const again = await logsOf(second.id);
    expect(again).toContain("(cached)");
    expect(again).not.toContain("fetching");
    expect(again).not.toContain("npm ci");
    expect(
      (await readdir(path.join(home, "cache/git"))).filter((e) => !e.startsWith(".") && !e.endsWith(".json")),
    ).toHaveLength(1);
  }, 240_000);

  it("crashes a run whose pull step fails, naming the step, with its output in the run's logs", async () => {
    const dir = await mkdtemp(path.join(root, "broken-"));
    const missing = "0123456789abcdef0123456789abcdef01234567";
    await helloProject(dir);
    await writeFile(
      path.join(dir, "flowplane.yaml"),
      [
        "pull:",
        `  - git_clone: { repository: "${daemon.url("etl.git")}", commit: "${missing}" }`,
        "deployments:",
        "  - name: unknown-commit",
        "    entrypoint: flow.ts:hello",
        `    pool: ${pool}`,
        "",
      ].join("\n"),
    );
    const deployed = await deploy(dir);
    expect(deployed.json[0]!.codeVersion).toBe(`git:${missing}`);
    const { id } = await server.api.deployments.run.mutate({ name: "hello/unknown-commit" });
    const worker = await runWorker(path.join(root, "worker-home"), pool);
    expect(worker.code, worker.output).toBe(0);
    const crashed = await waitForRun(server, id, "CRASHED", (r) => r.state.type === "CRASHED");
    expect(crashed.state.message).toMatch(/^pull step 1 \(git_clone\) failed: .*0123456789abcdef/s);
    const logs = await logsOf(id);
    expect(logs).toContain("pull step 1 (git_clone) failed");
    expect(logs).toContain(`fetching 0123456789ab from ${daemon.url("etl.git")}`);
  }, 120_000);
  it("crashes a run whose lockfile cannot install, naming install_dependencies with npm's output, and caches nothing", async () => {
    const project = path.join(root, "unpacked/etl");
    let tarball = "";
    const commit = await gitProjectOnDaemon("unpacked", project, helloYaml("cannot-install"), async (dir) => {
      await helloProject(dir);
      tarball = path.relative(dir, await writeBrokenLockfile(dir));
    });
    const deployed = await deploy(project);
    expect(deployed.json[0]!.codeVersion).toBe(`git:${commit}`);
    const { id } = await server.api.deployments.run.mutate({ name: "hello/cannot-install" });
    const home = path.join(root, "unpacked-worker-home");
    const worker = await runWorker(home, pool);
    expect(worker.code, worker.output).toBe(0);
    const crashed = await waitForRun(server, id, "CRASHED", (r) => r.state.type === "CRASHED");
    const missing = new RegExp(`ENOENT: no such file or directory, open '[^']*/${tarball}'`);
    expect(crashed.state.message).toMatch(
      /^pull step 2 \(install_dependencies\) failed: npm ci exited with code \d+: /,
    );
    expect(crashed.state.message).toMatch(missing);
    const logs = await logsOf(id);
    expect(logs).toContain("install_dependencies: npm ci --no-audit --no-fund in");
    expect(logs.split("\n").some((line) => line.includes("npm error") && missing.test(line))).toBe(true);
    expect(logs).toContain("pull step 2 (install_dependencies) failed");
    expect(await readdir(path.join(home, "cache/deps"))).toEqual([]);
  }, 120_000);
});

describe("bundle delivery", () => {
  it("uploads a content-addressed bundle at deploy; a worker elsewhere downloads, verifies and runs it", async () => {
    const project = path.join(root, "bundler/etl");
    await mkdir(project, { recursive: true });
    await writeProject(project);
    await writeFile(path.join(project, "debug.log"), "ignored by .gitignore\n");
    await writeFile(path.join(project, "flowplane.yaml"), bundleYaml("from-bundle"));
    const env = { BUNDLE_S3_SECRET: s3.secretAccessKey };

    const first = await deploy(project, env);
    const codeVersion = first.json[0]!.codeVersion!;
    expect(codeVersion).toMatch(/^bundle:sha256:[0-9a-f]{64}$/);
    expect(first.stderr).toMatch(/upload_bundle: flowplane\/bundles\/[0-9a-f]{64}\.tar\.gz \(\d+ bytes\) uploaded/);
    // The same files give the same bundle: nothing is uploaded and no version is made.
    const again = await deploy(project, env);
    expect(again.json[0]!.codeVersion).toBe(codeVersion);
    expect(again.json[0]!.version).toBe(first.json[0]!.version);
    expect(again.stderr).toContain("is already in bucket");
    // Changed code is a new code version, and so a new deployment version.
    await writeFile(path.join(project, "flows/etl.ts"), `${FLOW}// changed\n`);
    const changed = await deploy(project, env);
    expect(changed.json[0]!.version).toBe(first.json[0]!.version + 1);
    expect(changed.json[0]!.changed).toContain("codeVersion");
    expect(changed.json[0]!.codeVersion).not.toBe(codeVersion);
    const latest = changed.json[0]!.codeVersion!;

    const home = path.join(root, "bundle-worker-home");
    const { logs } = await runWithoutDeployer(path.join(root, "bundler"), "delivered/from-bundle", {
      home,
      pool,
      codeVersion: latest,
      who: "bundle",
    });
    expectVerifiedBundle(logs);
    const extracted = path.join(home, "cache/bundles", latest.slice("bundle:sha256:".length));
    expect(existsSync(path.join(extracted, "flows/etl.ts"))).toBe(true);
    expect(existsSync(path.join(extracted, "debug.log"))).toBe(false);
  }, 240_000);

  it("crashes a run whose bundle fails its checksum, extracting nothing", async () => {
    await deployBundled(path.join(root, "tampered/etl"), bundleYaml("tampered", "0".repeat(64)));
    const { id } = await server.api.deployments.run.mutate({ name: "delivered/tampered" });
    const home = path.join(root, "tampered-worker-home");
    expect((await runWorker(home, pool)).code).toBe(0);
    const crashed = await waitForRun(server, id, "CRASHED", (r) => r.state.type === "CRASHED");
    expect(crashed.state.message).toMatch(
      /^pull step 1 \(download_bundle\) failed: checksum mismatch .* expected sha256 0{64}, got [0-9a-f]{64}/,
    );
    expect(await logsOf(id)).toContain("pull step 1 (download_bundle) failed: checksum mismatch");
    expect((await readdir(path.join(home, "cache/bundles"))).filter((e) => !e.startsWith("."))).toEqual([]);
  }, 240_000);
});

// What a user does: the project's Dockerfile is FROM the flowplane image (built from this run's
// release tarballs), copies the project under /app and installs its lockfile; deploy builds and
// pushes it to a registry on loopback; a worker on a docker pool created with defaults pulls it by
// digest and runs it with the image's own command — no volumes, nothing of the repository inside.
describe("image delivery", () => {
  const dockerPool = "delivery-docker";
  const docker = async (...args: string[]) => (await run("docker", args)).stdout.trim();

  it("fails the deploy naming docker_push when the registry is unreachable, and stores no deployment", async () => {
    // A loopback port where nothing listens: the engine's push is refused at once.
    const unreachable = `127.0.0.1:${await freePort()}`;
    const dir = await mkdtemp(path.join(root, "unpushed-"));
    await helloProject(dir);
    const bare = process.env.FLOWPLANE_TEST_IMAGE ?? "flowplane-node:test";
    await writeFile(path.join(dir, "Dockerfile"), `FROM ${bare}\nCOPY flow.ts /app/flow.ts\n`);
    await writeFile(
      path.join(dir, "flowplane.yaml"),
      [
        "build:",
        "  - id: image",
        `    docker_build: { image: ${unreachable}/etl }`,
        "push:",
        '  - docker_push: { image: "{{ image.image }}" }',
        "deployments:",
        "  - name: unpushed",
        "    entrypoint: flow.ts:hello",
        `    pool: ${pool}`,
        "",
      ].join("\n"),
    );
    try {
      const refused = await runCli(["deploy"], deployerEnv(), { cwd: dir, timeoutMs: 120_000 });
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(
        new RegExp(
          `push step 1 \\(docker_push\\) failed: push of ${unreachable}/etl:[0-9a-f]{16} to ${unreachable}: .*connection refused`,
        ),
      );
      expect((await server.api.deployments.list.query()).map((d) => d.name)).not.toContain("unpushed");
    } finally {
      const built = await docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", `${unreachable}/etl`);
      for (const tag of built.split("\n").filter(Boolean)) await docker("image", "rm", "--force", tag);
    }
  }, 120_000);

  it("builds and pushes an image at deploy; a docker pool pulls it by digest and runs it", async () => {
    const base = await releaseWorkerImage();
    const registry = await startRegistry();
    try {
      const created = await runCli(["work-pool", "create", dockerPool, "--type", "docker"], server.env);
      expect(created.code, created.stderr).toBe(0);
      const project = path.join(root, "imager/etl");
      await mkdir(project, { recursive: true });
      await writeProject(project);
      // A directory of its own under /app: the image's /app/node_modules (its runner and SDK) stays,
      // and the project's install (exec form: no shell needed) adds only its own dependencies.
      await writeFile(
        path.join(project, "Dockerfile"),
        [
          `FROM ${base}`,
          "WORKDIR /app/etl",
          "COPY . .",
          'RUN ["npm", "ci", "--offline", "--no-audit", "--no-fund"]',
          "",
        ].join("\n"),
      );
      await writeFile(
        path.join(project, "flowplane.yaml"),
        [
          "build:",
          "  - id: image",
          `    docker_build: { image: ${registry.host}/etl }`,
          "push:",
          '  - docker_push: { image: "{{ image.image }}" }',
          "deployments:",
          "  - name: from-image",
          "    entrypoint: flows/etl.ts:delivered",
          `    pool: ${dockerPool}`,
          "    parameters: { who: image }",
          "",
        ].join("\n"),
      );
      const deployed = await deploy(project);
      const codeVersion = deployed.json[0]!.codeVersion!;
      expect(codeVersion).toMatch(new RegExp(`^image:${registry.host}/etl@sha256:[0-9a-f]{64}$`));
      const image = codeVersion.slice("image:".length);
      const inspect = await server.api.deployments.get.query({ name: "delivered/from-image" });
      expect(inspect).toMatchObject({ path: null, pullSteps: null, codeVersion });
      // The build's output is the deployment's only job variable: no command, no volumes.
      expect(inspect.jobVariables).toEqual({ image });

      // Nothing local to the deployer is left: not its directory, not the image it built.
      await rm(path.join(root, "imager"), { recursive: true, force: true });
      const tags = (await docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", `${registry.host}/etl`)).split(
        "\n",
      );
      for (const tag of tags.filter(Boolean)) await docker("image", "rm", "--force", tag);
      await expect(docker("image", "inspect", image)).rejects.toThrow();

      const { done, logs } = await runToCompletion(
        "delivered/from-image",
        path.join(root, "docker-worker-home"),
        dockerPool,
      );
      expect(done.codeVersion).toBe(codeVersion);
      expect(logs).toContain("hello, image, from an installed dependency");
      expect(logs).toContain("cwd /app/etl");
      // Pulled by its digest from the registry.
      expect(await docker("image", "inspect", "--format", "{{json .RepoDigests}}", image)).toContain(
        image.slice(image.indexOf("@")),
      );
    } finally {
      await registry.close();
    }
  }, 900_000);
});

// For docker, ECS and Kubernetes pools without a built image, the flowplane image runs the pull
// steps itself (its runner bootstrap), so the worker needs nothing of the deployment's code and the
// deployment runs on any pool type as it is. The image is the one users get: built from this run's
// release tarballs, with git, tar and npm for the steps. The pool's base job template (the
// operator's setting, not the deployment's) names the image; its own CMD runs the runner.
describe("pull steps in the flowplane image (docker pool)", () => {
  const imagePool = "delivery-image";

  beforeAll(async () => {
    const image = await releaseWorkerImage();
    // Docker, ECS and Kubernetes pools run the image's own command, which is the runner bootstrap.
    const cmd = JSON.parse(
      (await run("docker", ["image", "inspect", "--format", "{{json .Config.Cmd}}", image])).stdout,
    ) as unknown;
    expect(cmd).toEqual(["node", "/app/node_modules/flowplane/dist/runner-bootstrap.js"]);
    const template = defaultBaseJobTemplate("docker");
    const variables = template.variables.properties!;
    variables["image"]!.default = image;
    variables["image_pull_policy"]!.default = "never";
    const file = path.join(root, "image-pool.json");
    await writeFile(file, JSON.stringify(template));
    const created = await runCli(
      ["work-pool", "create", imagePool, "--type", "docker", "--base-job-template", file],
      server.env,
    );
    expect(created.code, created.stderr).toBe(0);
  }, 900_000);

  /** What a run in the image shows of where its pull steps ran. */
  const inContainer = (logs: string, cache: "git" | "bundles") => {
    expect(logs).toMatch(new RegExp(`^.*cwd /app/\\.flowplane/cache/${cache}/[^/\\s]+$`, "m"));
    expect(logs).toContain("install_dependencies: npm ci --no-audit --no-fund");
  };

  it("moves a git-delivered deployment from the process pool to the docker pool with no change to its code or flowplane.yaml", async () => {
    const project = path.join(root, "mover/etl");
    const yaml = `deployments:\n  - name: moving\n    entrypoint: flows/etl.ts:delivered\n    pool: ${pool}\n    parameters: { who: git }\n`;
    const commit = await gitProjectOnDaemon("moving", project, yaml);
    const onProcess = await deploy(project);
    expect(onProcess.json[0]!.codeVersion).toBe(`git:${commit}`);
    const first = await runToCompletion("delivered/moving", path.join(root, "moving-process-home"), pool);
    expect(first.logs).toContain("hello, git, from an installed dependency");

    // The move: the same checkout, untouched, deployed to the other pool.
    const moved = await deploy(project, {}, ["--pool", imagePool]);
    expect(await git(project, "status", "--porcelain")).toBe("");
    expect(moved.json[0]).toMatchObject({ codeVersion: `git:${commit}`, changed: ["workPoolName"] });
    const inspect = await server.api.deployments.get.query({ name: "delivered/moving" });
    expect(inspect).toMatchObject({ workPoolName: imagePool, path: null, codeVersion: `git:${commit}` });

    const home = path.join(root, "moving-docker-home");
    const { logs } = await runWithoutDeployer(path.join(root, "mover"), "delivered/moving", {
      home,
      pool: imagePool,
      codeVersion: `git:${commit}`,
      who: "git",
    });
    expect(logs).toContain(`git_clone: fetching ${commit.slice(0, 12)} from ${daemon.url("moving.git")}`);
    inContainer(logs, "git");
    // The pull ran in the container: the worker's machine holds none of the code.
    expect(existsSync(path.join(home, "cache"))).toBe(false);
  }, 600_000);

  it("runs a bundle-delivered deployment in the flowplane image, which downloads and verifies the bundle itself", async () => {
    const deployed = await deployBundled(
      path.join(root, "image-bundler/etl"),
      bundleYaml("bundle-in-image", undefined, imagePool),
    );
    const codeVersion = deployed.json[0]!.codeVersion!;
    expect(codeVersion).toMatch(/^bundle:sha256:[0-9a-f]{64}$/);

    const home = path.join(root, "bundle-docker-home");
    const { logs } = await runWithoutDeployer(path.join(root, "image-bundler"), "delivered/bundle-in-image", {
      home,
      pool: imagePool,
      codeVersion,
      who: "bundle",
    });
    expectVerifiedBundle(logs);
    inContainer(logs, "bundles");
    expect(existsSync(path.join(home, "cache"))).toBe(false);
  }, 600_000);
});
