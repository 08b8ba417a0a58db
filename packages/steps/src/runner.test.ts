// The runner runs pull steps before every flow run, so what it loads is start latency: a step's
// heavy dependencies (the S3 client for bundles, dockerode for images) load only when that step
// runs, and the step schema's validator (zod, for deploy) never. Checked in a fresh process.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, outputOf, spawnScript } from "../../../e2e/harness.ts";
import { git } from "../../../e2e/support/git-servers.ts";

let scratch: string;
let repository: string;
let commit: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "flowplane-runner-modules-"));
  repository = path.join(scratch, "repo");
  await git(scratch, "init", "--quiet", "--initial-branch=main", repository);
  await writeFile(path.join(repository, "flow.js"), "export const x = 1;\n");
  await git(repository, "add", ".");
  await git(repository, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "x");
  commit = await git(repository, "rev-parse", "HEAD");
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs `steps` in a fresh process (packages/steps/src/fixtures/loaded-packages.ts); answers what it loaded. */
async function loadedBy(steps: unknown[]): Promise<{ failure: string | null; packages: string[] }> {
  const home = await mkdtemp(path.join(scratch, "home-"));
  const child = spawnScript("packages/steps/src/fixtures/loaded-packages.ts", [home, JSON.stringify(steps)], {});
  const code = await exited(child);
  expect(code, outputOf(child)).toBe(0);
  return JSON.parse(outputOf(child).trim().split("\n").pop()!) as { failure: string | null; packages: string[] };
}

describe("what the runner loads for pull steps", () => {
  it("a git delivery loads no S3 client, no Docker client and no schema validator", async () => {
    const loaded = await loadedBy([
      { id: "clone", git_clone: { repository: `file://${repository}`, commit } },
      { set_working_directory: { directory: "{{ clone.directory }}" } },
    ]);
    expect(loaded.failure).toBeNull();
    // croner: @flowplane/core's schedules, which share its entry with the references the steps use.
    expect(loaded.packages).toEqual(["croner"]);
  }, 60_000);

  it("a bundle step loads the S3 client when it runs", async () => {
    const loaded = await loadedBy([
      {
        download_bundle: {
          bucket: "bundles",
          key: "flowplane/bundles/x.tar.gz",
          sha256: "a".repeat(64),
          // Nothing listens there: the step fails after loading its client.
          endpoint: "http://127.0.0.1:9",
          access_key_id: "test",
          secret_access_key: "test",
        },
      },
    ]);
    expect(loaded.failure).toMatch(/^pull step 1 \(download_bundle\) failed: download of .* unreachable/);
    expect(loaded.packages).toContain("@aws-sdk/client-s3");
    expect(loaded.packages).not.toContain("dockerode");
    expect(loaded.packages).not.toContain("zod");
  }, 60_000);
});
