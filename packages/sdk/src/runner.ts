// The runner: what a worker launches for a flow run. It loads the deployment's entrypoint
// (`path/to/file.ts:exportName`, TypeScript or JavaScript), reads the run's parameters from the API,
// and executes the flow as that existing run: RUNNING (waiting if the server says WAIT), the flow,
// the final state. Heartbeats go out while it runs.
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { ApiClient } from "@flowplane/client";
import { argsFromParameters } from "./engine/run-flow.ts";
import { runFlowWith, type Flow } from "./flow.ts";
import type { Tracker } from "./tracking/tracker.ts";
import { resolveRunReferences, SecretNotFoundError, VariableNotFoundError } from "./secrets.ts";

export class EntrypointError extends Error {
  override name = "EntrypointError";
}

/** Splits `file:export` (the export defaults to `default`); Windows drive letters are not a concern here. */
export function parseEntrypoint(entrypoint: string): { file: string; exportName: string } {
  const idx = entrypoint.lastIndexOf(":");
  if (idx <= 0) return { file: entrypoint, exportName: "default" };
  return { file: entrypoint.slice(0, idx), exportName: entrypoint.slice(idx + 1) || "default" };
}

export function isFlow(value: unknown): value is Flow<unknown[], unknown> {
  return (
    typeof value === "function" &&
    typeof (value as { parameterJsonSchema?: unknown }).parameterJsonSchema === "function" &&
    typeof (value as { options?: { name?: unknown } }).options?.name === "string"
  );
}

/** Imports an entrypoint's module and returns its flow export, or says precisely what is wrong. */
export async function loadFlow(entrypoint: string, cwd = process.cwd()): Promise<Flow<unknown[], unknown>> {
  const { file, exportName } = parseEntrypoint(entrypoint);
  const absolute = path.resolve(cwd, file);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((err as Error).message).includes(absolute))
      throw new EntrypointError(`entrypoint ${entrypoint}: file ${absolute} not found`);
    throw new EntrypointError(`entrypoint ${entrypoint}: could not load ${absolute}: ${(err as Error).message}`);
  }
  if (!(exportName in mod)) {
    const flows = Object.entries(mod)
      .filter(([, v]) => isFlow(v))
      .map(([k]) => k);
    throw new EntrypointError(
      `entrypoint ${entrypoint}: ${file} has no export "${exportName}"${flows.length ? ` (flows it exports: ${flows.join(", ")})` : ""}`,
    );
  }
  const value = mod[exportName];
  if (!isFlow(value))
    throw new EntrypointError(
      `entrypoint ${entrypoint}: export "${exportName}" is not a flow (wrap the function with flow())`,
    );
  return value;
}

/** All flows a module exports, by export name (for `flowplane deploy --all` style discovery). */
export async function loadFlows(file: string, cwd = process.cwd()): Promise<Record<string, Flow<unknown[], unknown>>> {
  const mod = (await import(pathToFileURL(path.resolve(cwd, file)).href)) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(mod).filter(([, v]) => isFlow(v))) as Record<
    string,
    Flow<unknown[], unknown>
  >;
}

export interface ExecuteOptions {
  api: ApiClient;
  tracker: Tracker;
  flowRunId: string;
  entrypoint: string;
  cwd?: string;
}

export type ExecuteResult = { ok: true; value: unknown } | { ok: false; error: unknown };

export async function executeFlowRun(opts: ExecuteOptions): Promise<ExecuteResult> {
  let flowFn: Flow<unknown[], unknown>;
  try {
    flowFn = await loadFlow(opts.entrypoint, opts.cwd);
  } catch (err) {
    // Code that cannot load will not load on a retry either.
    await failWithoutRetry(opts, (err as Error).message);
    return { ok: false, error: err };
  }
  const run = await opts.api.flowRuns.get.query({ id: opts.flowRunId });
  // The run stores its parameters as written; references are resolved here, in memory only.
  let parameters: Record<string, unknown>;
  try {
    parameters = (await resolveRunReferences(run.parameters)) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof SecretNotFoundError || err instanceof VariableNotFoundError)) throw err;
    await failWithoutRetry(opts, `${err.message}; the run's parameters reference it`);
    return { ok: false, error: err };
  }
  try {
    const value = await runFlowWith(flowFn, argsFromParameters(parameters), {
      flowRunId: opts.flowRunId,
      tracker: opts.tracker,
    });
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: err };
  } finally {
    await opts.tracker.flush();
  }
}

/** Ends the run FAILED with no retry (a configuration error a retry cannot fix). */
async function failWithoutRetry(opts: ExecuteOptions, message: string): Promise<void> {
  await opts.api.flowRuns.setState.mutate({
    id: opts.flowRunId,
    state: { type: "FAILED", message, details: { noRetry: true } },
  });
}
