// The release as a user gets it, made at most once per test run and shared by the test files that
// need it: the tarballs `pnpm release:pack` writes, and the flowplane/flowplane image that
// infra/build-images.sh builds from them (kept between runs while the tarballs' contents do not
// change). Test files run in parallel processes: the first to ask makes each thing under a lock in the
// run's directory (e2e/support/test-run-setup.ts), the others wait for its answer.
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { inject } from "vitest";
import { releaseDigest } from "../../infra/build/release-digest.mjs";
import { repoRoot, waitFor } from "../harness.ts";

const run = promisify(execFile);

/** The image of the docker pool's tests: flowplane/flowplane, built from this run's tarballs. */
export const WORKER_IMAGE = "flowplane/flowplane:test";

export interface Release {
  /** The three tarballs' paths. */
  files: string[];
  /** What they contain, as one SHA-256 (infra/build/release-digest.mjs). */
  digest: string;
}

/** A user's environment: this repository's test settings (source condition, test profile) removed. */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of [
    "NODE_OPTIONS",
    "NODE_PATH",
    "FLOWPLANE_API_URL",
    "FLOWPLANE_API_KEY",
    "INIT_CWD",
    "VITEST",
    "TEST",
  ])
    delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith("npm_") || name.startsWith("VITEST_")) delete env[name];
  return env;
}

/** This run's release tarballs (packing builds what is stale first). */
export function releaseTarballs(): Promise<Release> {
  return oncePerTestRun("release", async () => {
    const dir = path.join(inject("testRunDir"), "release");
    await run("pnpm", ["release:pack", dir], {
      cwd: repoRoot,
      env: userEnv(),
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const files = (await readdir(dir)).map((file) => path.join(dir, file));
    return { files, digest: releaseDigest(files) };
  });
}

/**
 * WORKER_IMAGE as built from this run's tarballs. infra/build-images.sh builds it only when the
 * image it finds was built from other contents; the time that took is printed.
 */
export function releaseWorkerImage(): Promise<string> {
  return oncePerTestRun("worker-image", async () => {
    const { files } = await releaseTarballs();
    const started = performance.now();
    const tag = WORKER_IMAGE.split(":")[1]!;
    const { stderr } = await run(
      "bash",
      ["infra/build-images.sh", tag, "--release", path.dirname(files[0]!), "--target", "worker"],
      { cwd: repoRoot, env: userEnv(), timeout: 900_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const upToDate = stderr.includes("is up to date");
    process.stderr.write(
      `${WORKER_IMAGE}: ${upToDate ? "up to date" : "built"} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
    return WORKER_IMAGE;
  });
}

/**
 * `make()`'s answer, made by the first test file of the run that asks and read from the run's
 * directory by the others (a failure is passed on the same way, so no file waits in vain).
 */
async function oncePerTestRun<T>(name: string, make: () => Promise<T>): Promise<T> {
  const dir = inject("testRunDir");
  const answerFile = path.join(dir, `${name}.json`);
  try {
    await mkdir(path.join(dir, `${name}.lock`));
  } catch {
    const text = await waitFor(
      `${name} (made by another test file)`,
      () => readFile(answerFile, "utf8").catch(() => null),
      900_000,
      250,
    );
    const answer = JSON.parse(text) as { value: T } | { error: string };
    if ("error" in answer) throw new Error(`${name} failed in another test file: ${answer.error}`);
    return answer.value;
  }
  const settle = async (answer: { value: T } | { error: string }) => {
    // Written whole, then renamed: a reader never sees half an answer.
    await writeFile(`${answerFile}.partial`, JSON.stringify(answer));
    await rename(`${answerFile}.partial`, answerFile);
  };
  try {
    const value = await make();
    await settle({ value });
    return value;
  } catch (err) {
    await settle({ error: (err as Error).message });
    throw err;
  }
}

/**
 * `deploy` flags that run a deployment in WORKER_IMAGE as a user's image runs it: the image's own
 * command (its runner) and SDK, with the flow files (paths relative to the repository, which is where
 * `deploy` runs) mounted read-only at the same paths under the image's /app.
 */
export function workerImageJobVars(image: string, flowFiles: string[]): string[] {
  const volumes = flowFiles.map((file) => `${path.join(repoRoot, file)}:/app/${file}:ro`);
  return [
    ...["--job-var", `image=${image}`, "--job-var", "image_pull_policy=never"],
    ...["--job-var", `volumes=${JSON.stringify(volumes)}`],
  ];
}
