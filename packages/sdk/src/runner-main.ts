// Process entry of the runner (see runner.ts). Workers start it with FLOWPLANE_FLOW_RUN_ID,
// FLOWPLANE_ENTRYPOINT and the API connection in the environment: FLOWPLANE_API_URL and the
// attempt's own FLOWPLANE_RUN_TOKEN (never the worker's key), renewed here while the run lasts.
// The exit code is 0 when the run completed.
import { createApiClient, keepRunTokenFresh, resolveConnectionSync } from "@flowplane/client";
import { ApiTracker } from "./tracking/api-tracker.ts";
import { setTracker } from "./tracking/select.ts";
import { executeFlowRun } from "./runner.ts";
import { installOutputRedaction } from "./output-redaction.ts";
import { loadSecretsToRedact, useControlPlaneSecrets } from "./secrets.ts";
import { stopActiveFlowRuns } from "./engine/run-flow.ts";

const flowRunId = process.env.FLOWPLANE_FLOW_RUN_ID;
const entrypoint = process.env.FLOWPLANE_ENTRYPOINT;
if (!flowRunId || !entrypoint) {
  process.stderr.write("flowplane runner: FLOWPLANE_FLOW_RUN_ID and FLOWPLANE_ENTRYPOINT must be set\n");
  process.exit(2);
}
const connection = resolveConnectionSync();
if (!connection) {
  process.stderr.write("flowplane runner: FLOWPLANE_API_URL and FLOWPLANE_RUN_TOKEN must be set\n");
  process.exit(2);
}

if (process.env.FLOWPLANE_EXIT_WITH_PARENT === "1") {
  // The worker holds our stdin open; when it dies the pipe closes and we go too, so a killed
  // worker leaves no orphaned run behind (the server sees the heartbeats stop and crashes the run).
  process.stdin.on("end", () => process.exit(137));
  process.stdin.on("error", () => process.exit(137));
  process.stdin.resume();
}

/** Exit code of a runner that stopped because its attempt was superseded (EX_TEMPFAIL). */
const SUPERSEDED_EXIT_CODE = 75;

installOutputRedaction();
const api = createApiClient(connection);
useControlPlaneSecrets({ api, flowRunId });
// Secrets the worker put into this run's job (env, command): read here too, so they are redacted.
await loadSecretsToRedact((process.env.FLOWPLANE_REDACT_SECRETS ?? "").split(",").filter((name) => name !== ""));
/**
 * The run was handed to another attempt (this one was crashed, or its claim expired): whatever
 * this process does next would race that attempt, so it stops at once.
 */
function stopSuperseded(message: string): never {
  process.stderr.write(`flowplane runner: stopping, flow run ${flowRunId} is no longer this attempt's: ${message}\n`);
  process.exit(SUPERSEDED_EXIT_CODE);
}
const tracker = new ApiTracker(api, { onSuperseded: stopSuperseded });
const renewal = keepRunTokenFresh(api, connection, {
  onRefused: (error) => {
    // The run has ended: nothing more needs the token.
    if (error.code === "PRECONDITION_FAILED") return;
    // Superseded, or the token ran out before it could be renewed (a process frozen past its
    // lifetime): nothing this attempt does can be recorded any more.
    stopSuperseded(`its run token was not renewed: ${error.message}`);
  },
});

// Stopped by the infrastructure (docker stop, pod deletion, StopTask, a cancel): run the flow's
// onCancellation hooks (the run is being cancelled) or onCrashed hooks (anything else), deliver
// what they logged, and leave — within STOP_HOOKS_BUDGET_MS, as the SIGKILL that follows a
// SIGTERM comes after a grace period we do not know. As PID 1 in a container node would
// otherwise ignore SIGTERM and wait for the kill. A second SIGTERM leaves at once.
const STOP_HOOKS_BUDGET_MS = 5_000;
let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) process.exit(143);
  stopping = true;
  const deadline = Date.now() + STOP_HOOKS_BUDGET_MS;
  const left = () => Math.max(0, deadline - Date.now());
  void (async () => {
    const run = await withinMs(api.flowRuns.get.query({ id: flowRunId }), left());
    const cancelled = run?.state.type === "CANCELLING" || run?.state.type === "CANCELLED";
    await withinMs(
      stopActiveFlowRuns(cancelled ? "cancelled" : "crashed", "the run's process was stopped (SIGTERM)"),
      left(),
    );
    await withinMs(tracker.flush(), left());
    process.exit(143);
  })();
});

/** `promise`'s value, or undefined if it rejects or takes longer than `ms`. */
function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}
setTracker(tracker);
const result = await executeFlowRun({
  api,
  tracker,
  flowRunId,
  entrypoint,
  cwd: process.cwd(),
});
renewal.stop();
tracker.close();
if (!result.ok)
  process.stderr.write(
    `flowplane runner: flow run ${flowRunId} did not complete: ${(result.error as Error)?.message ?? String(result.error)}\n`,
  );
process.exit(result.ok ? 0 : 1);
