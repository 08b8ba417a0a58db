// How a deployment's code reaches the workers, decided at `flowplane deploy`: run the build and
// push steps, then settle the pull steps the deployment stores (written ones, or the default for
// how the code was shipped), the job variables that take build outputs, and the code version.
//
// Defaults, in order: a bundle uploaded by a push step is downloaded; an image built (and pushed)
// becomes the `image` job variable and needs no pull; in a git repository with a remote, the current
// commit is cloned; anywhere else the deployer's directory stays the run's directory, which only
// workers on this filesystem can see.
import path from "node:path";
import { findReferences, resolveReferences, type Redactor } from "@flowplane/core";
import { publicUrl, gitProject } from "./git.ts";
import { detectPackageManager } from "./install.ts";
import { runSteps, type StepContext, type StepsResult } from "./run-steps.ts";
import { STEP_OUTPUTS, stepOf, type StepSpec } from "./schema.ts";

export interface DeliveryInput {
  /** The project directory (flowplane.yaml's, or the working directory with flags). */
  baseDir: string;
  build: StepSpec[];
  push: StepSpec[];
  /** null: no `pull` written (the default applies); [] : run in `baseDir` on purpose. */
  pull: StepSpec[] | null;
  jobVariables: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  home: string;
  log: (line: string) => void;
  /** Resolves build and push steps' `{{ secret.X }}` and `{{ variable.X }}` (deploy: from the control plane). */
  resolveNamed?: StepContext["resolveNamed"];
  /** Receives every secret value build and push use, so the caller can keep them out of what it prints and stores. */
  redactor?: Redactor;
}

export interface Delivery {
  /** Stored on the deployment; null when runs use `path`. */
  pullSteps: StepSpec[] | null;
  /** The deployer's directory, kept only when workers must share it. */
  path: string | null;
  jobVariables: Record<string, unknown>;
  codeVersion: string | null;
  /** What deploy says about the choice (to stderr). */
  notes: string[];
  warnings: string[];
}

/** Every output of `steps` as its own reference text: resolving with it leaves them as written. */
function keepAsWritten(steps: StepSpec[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const step of steps.map((s) => stepOf(s as Record<string, unknown>)))
    if (step.id)
      for (const output of STEP_OUTPUTS[step.name]) kept[`${step.id}.${output}`] = `{{ ${step.id}.${output} }}`;
  return kept;
}

/** The secrets and variables `value` names, each as its own reference text (kept for later). */
function keepNamed(value: unknown): { secrets: Record<string, string>; variables: Record<string, string> } {
  const named = findReferences(value);
  return {
    secrets: Object.fromEntries(named.secrets.map((n) => [n, `{{ secret.${n} }}`])),
    variables: Object.fromEntries(named.variables.map((n) => [n, `{{ variable.${n} }}`])),
  };
}

/** The code a deployment runs, from what its pull steps pin and the image it names. */
export function codeVersionOf(pullSteps: StepSpec[] | null, jobVariables: Record<string, unknown>): string | null {
  const image = jobVariables["image"];
  if (typeof image === "string" && /@sha256:[0-9a-f]{64}$/.test(image)) return `image:${image}`;
  for (const step of (pullSteps ?? []).map((s) => stepOf(s as Record<string, unknown>))) {
    const sha = step.args["sha256"];
    if (step.name === "download_bundle" && typeof sha === "string" && /^[0-9a-f]{64}$/.test(sha))
      return `bundle:sha256:${sha}`;
    const commit = step.args["commit"];
    if (step.name === "git_clone" && typeof commit === "string" && /^[0-9a-f]{40}$/.test(commit))
      return `git:${commit}`;
  }
  return null;
}

/**
 * Runs build and push (memoised by `shipped`, so deployments sharing the top-level steps build
 * once) and settles the pull steps, job variables and code version.
 */
export async function prepareDelivery(
  input: DeliveryInput,
  shipped: Map<string, Promise<StepsResult>> = new Map(),
): Promise<Delivery> {
  const notes: string[] = [];
  const warnings: string[] = [];
  const shipping = [...input.build, ...input.push];
  let outputs: Record<string, unknown> = {};
  let results: StepsResult["results"] = [];
  if (shipping.length > 0) {
    const memo = JSON.stringify([input.baseDir, input.build, input.push]);
    let run = shipped.get(memo);
    if (!run) {
      run = (async () => {
        const shared = {
          cwd: input.baseDir,
          home: input.home,
          env: input.env,
          log: input.log,
          ...(input.resolveNamed ? { resolveNamed: input.resolveNamed } : {}),
          ...(input.redactor ? { redactor: input.redactor } : {}),
        };
        const built = await runSteps(input.build, "build", shared);
        const pushed = await runSteps(input.push, "push", { ...shared, outputs: built.outputs });
        // Push steps ran with build's outputs known, so theirs include them.
        return {
          outputs: pushed.outputs,
          cwd: pushed.cwd,
          results: [...built.results, ...pushed.results],
        };
      })();
      shipped.set(memo, run);
    }
    ({ outputs, results } = await run);
  }

  // Pull steps resolve only build and push outputs here; their secrets, variables, environment
  // and own outputs resolve where each run starts.
  const known = { ...keepNamed(input.pull), outputs: { ...keepAsWritten(input.pull ?? []), ...outputs } };
  let jobVariables: Record<string, unknown>;
  let pull: StepSpec[] | null;
  try {
    jobVariables = resolveReferences(input.jobVariables, { ...keepNamed(input.jobVariables), outputs }) as Record<
      string,
      unknown
    >;
  } catch (err) {
    throw new Error(
      `job_variables: ${(err as Error).message.replace("was not resolved", "is not an output of a build or push step")}`,
    );
  }
  pull = input.pull ? (resolveReferences(input.pull, known) as StepSpec[]) : null;

  const upload = results.findLast((r) => r.name === "upload_bundle");
  const image =
    results.findLast((r) => r.name === "docker_push")?.output["image"] ??
    results.findLast((r) => r.name === "docker_build")?.output["image"];
  if (image && jobVariables["image"] === undefined) {
    jobVariables = { ...jobVariables, image };
    notes.push(`image: ${String(image)} (from the build; runs on docker, ECS and Kubernetes pools use it)`);
  }

  let keepPath = false;
  if (pull === null) {
    if (upload) {
      // The written upload step's storage settings (references unresolved: the worker's own apply).
      const written = stepOf(
        [...input.build, ...input.push].findLast((s) => "upload_bundle" in s) as Record<string, unknown>,
      ).args;
      const storage = Object.fromEntries(
        ["endpoint", "region", "access_key_id", "secret_access_key"].flatMap((k) =>
          written[k] !== undefined ? [[k, written[k]]] : [],
        ),
      );
      const bundled = path.resolve(input.baseDir, (written["directory"] as string | undefined) ?? ".");
      pull = [
        {
          download_bundle: {
            bucket: String(upload.output["bucket"]),
            key: String(upload.output["key"]),
            sha256: String(upload.output["sha256"]),
            ...storage,
          },
        },
        ...(detectPackageManager(bundled) ? [{ install_dependencies: {} }] : []),
      ];
      notes.push(`pull: download_bundle of ${String(upload.output["key"])} (the default after upload_bundle)`);
    } else if (image) {
      pull = [];
      notes.push("pull: none; the image carries the code (its WORKDIR must be the project's directory)");
    } else {
      const git = await gitProject(input.baseDir, input.env);
      if (git?.remote) {
        const relative = path.relative(git.root, input.baseDir);
        pull = [
          { id: "clone", git_clone: { repository: publicUrl(git.remote.url), commit: git.commit } },
          ...(relative ? [{ set_working_directory: { directory: relative } }] : []),
          ...(detectPackageManager(input.baseDir) ? [{ install_dependencies: {} }] : []),
        ];
        notes.push(
          `pull: git_clone of ${publicUrl(git.remote.url)} at ${git.commit.slice(0, 12)} (the default in a git repository; write \`pull:\` in flowplane.yaml to choose)`,
        );
        if (publicUrl(git.remote.url) !== git.remote.url)
          warnings.push(
            `the remote's URL carries credentials; they are not stored: give git_clone \`credentials: { password: "{{ secret.NAME }}" }\``,
          );
        if (git.dirty) warnings.push("the working tree has uncommitted changes: runs get the commit, not them");
        if (!git.pushed)
          warnings.push(
            `commit ${git.commit.slice(0, 12)} is not on remote ${git.remote.name}: push it, or workers cannot fetch it`,
          );
      } else {
        keepPath = true;
        warnings.push(
          `${git ? "the git repository has no remote" : "not in a git repository"}: runs use ${input.baseDir}, which only workers on this filesystem can see (add pull steps to deliver the code)`,
        );
      }
    }
  } else if (pull.length === 0) keepPath = true;

  const pullSteps = pull && pull.length > 0 ? pull : null;
  return {
    pullSteps,
    path: keepPath || (!pullSteps && !image) ? input.baseDir : null,
    jobVariables,
    codeVersion: codeVersionOf(pullSteps, jobVariables),
    notes,
    warnings,
  };
}
