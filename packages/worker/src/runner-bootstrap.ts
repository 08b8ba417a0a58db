// The process a worker starts for each flow run (see defaultRunnerCommand in worker.ts). It runs the
// flow with the SDK that the flow's own project resolves, never with a copy of its own: the flow's
// `import { flow } from "@flowplane/sdk"` and the runner must be one module instance, or the run
// context and tracker the runner sets up would be invisible to the flow's tasks. So it resolves
// `@flowplane/sdk/runner-main` from the entrypoint's directory, checks that SDK speaks this worker's
// runner protocol (same version line), and hands over to it. When the project has no SDK, or an
// incompatible one, the run fails with a message that says so and what to install.
//
// First, when the deployment delivers its code (FLOWPLANE_PULL_STEPS), it runs the pull steps here,
// where the run starts (a worker's child process, or inside the run's container), so every pool
// type fetches code the same way; the entrypoint then resolves in the directory they end in. A
// failing step crashes the run with the step's name and output.
//
// Environment: FLOWPLANE_FLOW_RUN_ID, FLOWPLANE_ENTRYPOINT and the API connection (FLOWPLANE_API_URL,
// FLOWPLANE_RUN_TOKEN), as the SDK's runner-main reads them; FLOWPLANE_PULL_STEPS (JSON) and
// FLOWPLANE_HOME (the caches) for pulls; FLOWPLANE_SECRET_ENV (JSON: name → template) for the job's
// env entries that reference secrets on a container pool, which the worker leaves unresolved (see
// takeSecretEnv in worker.ts) and this process resolves with the run's token before anything runs.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { compatibleSdkVersion } from "./runner-compatibility.ts";

const flowRunId = process.env.FLOWPLANE_FLOW_RUN_ID;
const entrypoint = process.env.FLOWPLANE_ENTRYPOINT;
if (!flowRunId || !entrypoint) {
  process.stderr.write("flowplane runner: FLOWPLANE_FLOW_RUN_ID and FLOWPLANE_ENTRYPOINT must be set\n");
  process.exit(2);
}

// One version for all Flowplane packages: the package.json above this file is the worker's own
// (packages/worker in the repository, the flowplane package once built).
const workerVersion = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** Secret values this process put into its environment, redacted from the pull steps' output. */
const secretEnvValues = process.env.FLOWPLANE_SECRET_ENV
  ? await resolveSecretEnv(process.env.FLOWPLANE_SECRET_ENV)
  : [];
if (process.env.FLOWPLANE_PULL_STEPS) await pull(process.env.FLOWPLANE_PULL_STEPS);

// `file:export`; the file is relative to the working directory the worker gave this process (or the
// one the pull steps ended in).
const entryFile = path.resolve(entrypoint.slice(0, Math.max(entrypoint.lastIndexOf(":"), 0)) || entrypoint);

/**
 * The @flowplane/sdk directory the entrypoint's own `import "@flowplane/sdk"` will load: the first
 * node_modules/@flowplane/sdk walking up from the file, as ESM resolves packages. (CommonJS's
 * require.resolve would also search NODE_PATH, which ESM ignores, and could find another copy.)
 */
function projectSdkDir(): string | null {
  for (let dir = path.dirname(entryFile); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", "@flowplane", "sdk");
    if (existsSync(path.join(candidate, "package.json"))) return realpathSync(candidate);
    if (path.dirname(dir) === dir) return null;
  }
}

const sdk = resolveProjectSdk();
if ("problem" in sdk) await failRun(sdk.problem);
else await import(pathToFileURL(sdk.runnerMain).href);

function resolveProjectSdk(): { runnerMain: string } | { problem: string } {
  const install = `Install it in that project: npm install @flowplane/sdk@${workerVersion}`;
  let runnerMain: string;
  let sdkVersion: string;
  try {
    const sdkDir = projectSdkDir();
    if (!sdkDir) throw new Error(`no node_modules/@flowplane/sdk in ${path.dirname(entryFile)} or above`);
    // From inside the package, its own name resolves through its `exports` (with this process's
    // conditions), to the very file the flow's import will load.
    const sdkRequire = createRequire(path.join(sdkDir, "package.json"));
    runnerMain = sdkRequire.resolve("@flowplane/sdk/runner-main");
    sdkVersion = (JSON.parse(readFileSync(path.join(sdkDir, "package.json"), "utf8")) as { version: string }).version;
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    return {
      problem: `the flow's project cannot load @flowplane/sdk (resolved from ${path.dirname(entryFile)}): ${reason}. ${install}`,
    };
  }
  if (!compatibleSdkVersion(sdkVersion, workerVersion))
    return {
      problem: `the flow's project has @flowplane/sdk ${sdkVersion}, which this worker (flowplane ${workerVersion}) cannot run. ${install}`,
    };
  return { runnerMain };
}

/**
 * Sets the job's env entries that reference secrets (and maybe variables) in this process's
 * environment, resolved for this run with its own token; the flow and the pull steps inherit them.
 * A missing name fails the run before anything runs, naming it, as the worker does for a process
 * pool. The SDK redacts these values from the flow's output: the worker lists their names in
 * FLOWPLANE_REDACT_SECRETS. Answers the secret values, for the pull steps' redaction.
 */
async function resolveSecretEnv(json: string): Promise<string[]> {
  const { findReferences, resolveReferences } = await import("@flowplane/core");
  const { createApiClient, resolveConnectionSync, readNamedValues } = await import("@flowplane/client");
  const templates = JSON.parse(json) as Record<string, string>;
  const connection = resolveConnectionSync();
  if (!connection)
    return failRun(
      "no API connection (FLOWPLANE_API_URL, FLOWPLANE_RUN_TOKEN) to read the secrets the job's env references",
    );
  const refs = findReferences(templates);
  const read = await readNamedValues(createApiClient(connection), {
    flowRunId: flowRunId!,
    secrets: refs.secrets,
    variables: refs.variables,
  }).catch((err: unknown) => err as Error);
  // CRASHED, as for a pull step: the flow never ran, and an API that was unreachable may answer a retry.
  if (read instanceof Error)
    return endRun("CRASHED", `could not read the secrets the job's env references: ${read.message}`);
  const { secrets, variables, missing } = read;
  if (missing.length > 0)
    return failRun(
      `${missing.join(", ")} referenced by the job variables ${missing.length === 1 ? "does" : "do"} not exist`,
    );
  const resolved = resolveReferences(templates, { secrets, variables }) as Record<string, string>;
  for (const [name, value] of Object.entries(resolved)) process.env[name] = value;
  delete process.env.FLOWPLANE_SECRET_ENV;
  return Object.values(secrets);
}

/**
 * Runs the deployment's pull steps and moves into the directory they end in. Secrets and variables
 * they name are read for this run from the control plane; their values are redacted from the
 * steps' output, which goes to the run's logs (the worker streams this process's output).
 */
async function pull(json: string): Promise<void> {
  const { runSteps, StepFailedError } = await import("@flowplane/steps/runner");
  const { Redactor } = await import("@flowplane/core");
  const redactor = new Redactor();
  for (const value of secretEnvValues) redactor.add(value);
  const { createApiClient, resolveConnectionSync, flowplaneHome, readNamedValues } = await import("@flowplane/client");
  const connection = resolveConnectionSync();
  const api = connection ? createApiClient(connection) : null;
  try {
    const result = await runSteps(JSON.parse(json) as Parameters<typeof runSteps>[0], "pull", {
      cwd: process.cwd(),
      home: flowplaneHome(),
      env: process.env,
      redactor,
      log: (line) => process.stdout.write(`flowplane pull: ${line}\n`),
      resolveNamed: async ({ secrets, variables }) => {
        if (!api) throw new Error("no API connection to read secrets and variables");
        return readNamedValues(api, { flowRunId: flowRunId!, secrets, variables });
      },
    });
    process.chdir(result.cwd);
  } catch (err) {
    const message = err instanceof StepFailedError ? err.message : `pull steps failed: ${(err as Error).message}`;
    // CRASHED, not FAILED: the flow never ran, and a registry or bucket that was down may be back
    // for a retry.
    await endRun("CRASHED", message);
  }
}

/** Ends the run FAILED (not to be retried: the same project will not load on a retry) and exits. */
async function failRun(message: string): Promise<never> {
  return endRun("FAILED", message);
}

async function endRun(type: "FAILED" | "CRASHED", message: string): Promise<never> {
  process.stderr.write(`flowplane runner: ${message}\n`);
  const { createApiClient, resolveConnectionSync } = await import("@flowplane/client");
  const connection = resolveConnectionSync();
  if (connection) {
    await createApiClient(connection)
      .flowRuns.setState.mutate({
        id: flowRunId!,
        // With the attempt's run token (FLOWPLANE_RUN_TOKEN), which the server fences.
        state: type === "FAILED" ? { type, message, details: { noRetry: true } } : { type, message },
      })
      .catch((err: unknown) =>
        process.stderr.write(`flowplane runner: could not report the failure: ${String(err)}\n`),
      );
  }
  process.exit(1);
}
