import { describe, expect, it } from "vitest";
import { codeVersionOf } from "./delivery.ts";
import { parseStepList, StepSpecError } from "./schema.ts";

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof StepSpecError) return err.message;
    throw err;
  }
  throw new Error("expected a StepSpecError");
}

describe("step lists of flowplane.yaml", () => {
  it("accepts the built-in steps with ids, outputs of earlier steps and references", () => {
    const outputs = new Map<string, readonly string[]>();
    parseStepList([{ id: "image", docker_build: { image: "reg:5000/etl" } }], "build", "build", outputs);
    const pull = parseStepList(
      [
        {
          id: "clone",
          git_clone: {
            repository: "https://git.example/etl.git",
            branch: "main",
            credentials: { username: "{{ env.GIT_USER }}", password: "{{ secret.GIT_TOKEN }}" },
            sparse: ["flows"],
          },
        },
        { set_working_directory: { directory: "{{ clone.directory }}/flows" } },
        { install_dependencies: {} },
      ],
      "pull",
      "pull",
      outputs,
    );
    expect(pull).toHaveLength(3);
    expect(pull[0]!.id).toBe("clone");
  });

  it("names the place of an unknown step, an unknown argument, or a wrong type", () => {
    expect(problem(() => parseStepList([{ gitclone: { repository: "x" } }], "pull", "deployments[1].pull"))).toMatch(
      /^deployments\[1\]\.pull\[0\]\.gitclone: unknown step \(known: git_clone, /,
    );
    expect(
      problem(() => parseStepList([{ git_clone: { repository: "x" } }, { git_clone: { repo: "x" } }], "pull", "pull")),
    ).toMatch(/^pull\[1\]\.git_clone\.repo: unknown argument \(known: repository, branch, commit, /);
    expect(problem(() => parseStepList([{ git_clone: { repository: "x", shallow: "yes" } }], "pull", "pull"))).toMatch(
      /^pull\[0\]\.git_clone\.shallow: /,
    );
    expect(problem(() => parseStepList([{ git_clone: {} }], "pull", "pull"))).toMatch(
      /^pull\[0\]\.git_clone\.repository: /,
    );
    expect(problem(() => parseStepList({ git_clone: {} }, "pull", "pull"))).toBe("pull: expected a list of steps");
    expect(
      problem(() => parseStepList([{ git_clone: { repository: "x" }, install_dependencies: {} }], "pull", "pull")),
    ).toBe("pull[0]: one step per list item (found git_clone, install_dependencies)");
  });

  it("keeps each step to the phase it belongs to; deploy-time steps keep secret references as written", () => {
    expect(problem(() => parseStepList([{ git_clone: { repository: "x" } }], "build", "build"))).toBe(
      "build[0].git_clone: runs in pull, not in build",
    );
    // Resolved by `flowplane deploy` just before the step runs (secrets.resolveForDeploy), never here.
    const push = [{ docker_push: { image: "r/x", credentials: { password: "{{ secret.REGISTRY }}" } } }];
    expect(parseStepList(push, "push", "push")).toEqual(push);
    // Except where the image itself would keep the value.
    const bakedIn = [{ docker_build: { image: "r/x", build_args: { NPM_TOKEN: "{{ secret.NPM_TOKEN }}" } } }];
    expect(problem(() => parseStepList(bakedIn, "build", "build"))).toBe(
      "build[0].docker_build.build_args: {{ secret.NPM_TOKEN }}: build arguments are kept in the image's history, where whoever pulls it reads them; secrets go to docker_push or upload_bundle credentials",
    );
  });

  it("refuses references to steps that do not come earlier or outputs they do not have", () => {
    expect(
      problem(() => parseStepList([{ set_working_directory: { directory: "{{ clone.directory }}" } }], "pull", "pull")),
    ).toBe('pull[0].set_working_directory: {{ clone.directory }}: no earlier step has the id "clone"');
    expect(
      problem(() =>
        parseStepList(
          [
            { id: "clone", git_clone: { repository: "x" } },
            { set_working_directory: { directory: "{{ clone.dir }}" } },
          ],
          "pull",
          "pull",
        ),
      ),
    ).toBe(
      'pull[1].set_working_directory: {{ clone.dir }}: step "clone" has no output "dir" (it has directory, commit)',
    );
    expect(
      problem(() =>
        parseStepList(
          [
            { id: "a", git_clone: { repository: "x" } },
            { id: "a", install_dependencies: {} },
          ],
          "pull",
          "pull",
        ),
      ),
    ).toBe('pull[1].id: "a" is already the id of an earlier step');
  });
});

describe("code versions", () => {
  const sha = "a".repeat(40);
  const digest = "b".repeat(64);
  it("is the pinned commit, the bundle digest, or the image digest", () => {
    expect(codeVersionOf([{ git_clone: { repository: "x", commit: sha } }], {})).toBe(`git:${sha}`);
    expect(codeVersionOf([{ download_bundle: { bucket: "b", key: "k", sha256: digest } }], {})).toBe(
      `bundle:sha256:${digest}`,
    );
    expect(codeVersionOf(null, { image: `reg:5000/etl@sha256:${digest}` })).toBe(`image:reg:5000/etl@sha256:${digest}`);
    // A branch resolves only where the run starts: no version is known at deploy.
    expect(codeVersionOf([{ git_clone: { repository: "x", branch: "main" } }], {})).toBeNull();
  });
});
