// Runs a list of steps in order: each step's references are resolved just before it runs (step
// outputs so far, the environment here, and the run's secrets and variables), its output lines go
// to the log with every secret value replaced by ***, and a failure names the step.
import path from "node:path";
import { statSync } from "node:fs";
import { findReferences, Redactor, resolveReferences, type ReferenceValues } from "@flowplane/core";
import { Cache } from "./cache.ts";
import { CommandError } from "./command.ts";
// The steps of every git delivery load with the runner (node built-ins only); the S3 and Docker
// clients load only when a bundle or image step runs.
import { gitClone } from "./git.ts";
import { installDependencies } from "./install.ts";
import type { Phase, StepArguments, StepName, StepSpec } from "./schema.ts";
import { stepOf } from "./step.ts";

export interface StepContext {
  /** The working directory the first step sees (steps may change it). */
  cwd: string;
  /** FLOWPLANE_HOME: the caches live under it. */
  home: string;
  env: NodeJS.ProcessEnv;
  /** One line of step output (already redacted). */
  log: (line: string) => void;
  /**
   * Resolves secret and variable references (a run's: from the control plane; deploy's: for the
   * secrets an admin allowed at deploy, which names the steps asking). Names it cannot find come
   * back in `missing`.
   */
  resolveNamed?: (
    refs: { secrets: string[]; variables: string[] },
    asking: { phase: Phase; steps: StepSecrets[] },
  ) => Promise<{
    secrets: Record<string, string>;
    variables: Record<string, unknown>;
    missing: string[];
  }>;
  cache?: Cache;
  /** Outputs of an earlier phase the steps may use (push steps use build's). */
  outputs?: Record<string, unknown>;
  /** Receives every secret value the steps use; default: a fresh one. */
  redactor?: Redactor;
}

/** A step of the list that references secrets: where it is and which. */
export interface StepSecrets {
  /** 0-based position in its phase's list. */
  index: number;
  name: StepName;
  id: string | null;
  secrets: string[];
}

export interface StepsResult {
  /** Outputs by `step-id.output`. */
  outputs: Record<string, unknown>;
  /** The working directory after the last step. */
  cwd: string;
  /** Per step: its name and what it produced (for code versions and the deploy's summary). */
  results: { name: StepName; id: string | null; output: Record<string, unknown> }[];
}

export class StepFailedError extends Error {
  override name = "StepFailedError";
  constructor(
    readonly phase: Phase,
    /** 0-based position in the phase's list. */
    readonly index: number,
    readonly step: StepName,
    readonly stepId: string | null,
    readonly reason: string,
  ) {
    super(`${phase} step ${index + 1} (${step}${stepId ? ` "${stepId}"` : ""}) failed: ${reason}`);
  }
}

/** Argument fields that carry secrets whatever their source (a `{{ env.X }}` one too). */
function secretArguments(args: Record<string, unknown>): string[] {
  const values: string[] = [];
  const credentials = args["credentials"] as { password?: unknown } | undefined;
  if (typeof credentials?.password === "string") values.push(credentials.password);
  if (typeof args["secret_access_key"] === "string") values.push(args["secret_access_key"]);
  return values;
}

export async function runSteps(specs: StepSpec[], phase: Phase, ctx: StepContext): Promise<StepsResult> {
  const redactor = ctx.redactor ?? new Redactor();
  const log = (line: string) => ctx.log(redactor.text(line));
  const cache = ctx.cache ?? new Cache(ctx.home);
  const steps = specs.map((s) => stepOf(s as Record<string, unknown>));

  // Every secret and variable of the list in one request, before the first step.
  const named = findReferences(steps.map((s) => s.args));
  const values: ReferenceValues = { secrets: {}, variables: {} };
  if (named.secrets.length > 0 || named.variables.length > 0) {
    if (!ctx.resolveNamed)
      throw new StepFailedError(
        phase,
        0,
        steps[0]!.name,
        steps[0]!.id,
        "secrets and variables cannot be resolved here",
      );
    /** The first step naming one of `names` (as `secret "X"` / `variable "Y"`), or any that names some. */
    const failAt = (names: string[] | null, reason: string): never => {
      const at = steps.findIndex((s) => {
        const refs = findReferences(s.args);
        const own = [...refs.secrets.map((n) => `secret "${n}"`), ...refs.variables.map((n) => `variable "${n}"`)];
        return names ? names.some((m) => own.includes(m)) : own.length > 0;
      });
      const step = steps[Math.max(at, 0)]!;
      throw new StepFailedError(phase, Math.max(at, 0), step.name, step.id, reason);
    };
    const asking = steps
      .map((s, index) => ({ index, name: s.name, id: s.id, secrets: findReferences(s.args).secrets }))
      .filter((s) => s.secrets.length > 0);
    const got = await ctx
      .resolveNamed({ secrets: named.secrets, variables: named.variables }, { phase, steps: asking })
      .catch((err: unknown) => failAt(null, `reading its secrets and variables: ${(err as Error).message}`));
    if (got.missing.length > 0) failAt(got.missing, `${got.missing.join(", ")} does not exist`);
    for (const secret of Object.values(got.secrets)) redactor.add(secret);
    Object.assign(values, { secrets: got.secrets, variables: got.variables });
  }

  const outputs: Record<string, unknown> = { ...ctx.outputs };
  const results: StepsResult["results"] = [];
  let cwd = ctx.cwd;
  for (const [index, step] of steps.entries()) {
    const started = performance.now();
    try {
      const args = resolveReferences(step.args, { ...values, env: ctx.env, outputs }) as Record<string, unknown>;
      for (const secret of secretArguments(args)) redactor.add(secret);
      const output = await runStep(step.name, args, { cwd, env: ctx.env, log, redactor, cache });
      if (typeof output["directory"] === "string" && step.name !== "install_dependencies") cwd = output["directory"];
      if (step.id) for (const [k, v] of Object.entries(output)) outputs[`${step.id}.${k}`] = v;
      results.push({ name: step.name, id: step.id, output });
      log(`${phase} step ${index + 1} ${step.name} done in ${Math.round(performance.now() - started)} ms`);
    } catch (err) {
      const reason = redactor.text(err instanceof CommandError || err instanceof Error ? err.message : String(err));
      throw new StepFailedError(phase, index, step.name, step.id, reason);
    }
  }
  return { outputs, cwd, results };
}

interface RunContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  redactor: Redactor;
  cache: Cache;
}

/** One step. */
async function runStep(
  name: StepName,
  raw: Record<string, unknown>,
  ctx: RunContext,
): Promise<Record<string, unknown>> {
  switch (name) {
    case "git_clone": {
      return { ...(await gitClone(raw as StepArguments<"git_clone">, ctx)) };
    }
    case "set_working_directory": {
      const directory = path.resolve(ctx.cwd, (raw as StepArguments<"set_working_directory">).directory);
      if (!statSync(directory, { throwIfNoEntry: false })?.isDirectory())
        throw new Error(`directory ${directory} does not exist`);
      return { directory };
    }
    case "install_dependencies": {
      const args = raw as StepArguments<"install_dependencies">;
      return { ...(await installDependencies(path.resolve(ctx.cwd, args.directory ?? "."), ctx)) };
    }
    case "upload_bundle": {
      const { uploadBundle } = await import("./bundle.ts");
      return { ...(await uploadBundle(raw as StepArguments<"upload_bundle">, ctx)) };
    }
    case "download_bundle": {
      const { downloadBundle } = await import("./bundle.ts");
      return { ...(await downloadBundle(raw as StepArguments<"download_bundle">, ctx)) };
    }
    case "docker_build": {
      const { dockerBuild } = await import("./docker.ts");
      return { ...(await dockerBuild(raw as StepArguments<"docker_build">, ctx)) };
    }
    case "docker_push": {
      const { dockerPush } = await import("./docker.ts");
      return { ...(await dockerPush(raw as StepArguments<"docker_push">, ctx)) };
    }
    default: {
      const never: never = name;
      throw new Error(`unknown step ${String(never)}`);
    }
  }
}
