// State hooks (onRunning, onCompletion, onFailure, onCancellation, onCrashed). A hook runs after the
// state is recorded, inside the run's context so getRunLogger() writes on the run; whatever a hook
// throws is logged there and never changes the run's state or what the caller gets back.
import type { State } from "@flowplane/core";
import { runStorage, type RunScope } from "../context.ts";
import type { HookEvent, StateHook, StateHooks } from "../options.ts";
import { errorDetail } from "./common.ts";

export type HookName = "onRunning" | "onCompletion" | "onFailure" | "onCancellation" | "onCrashed";

type HookOptions = { name: string } & Partial<Record<HookName, StateHooks>>;

function list(value: StateHooks | undefined): readonly StateHook[] {
  return value === undefined ? [] : typeof value === "function" ? [value] : value;
}

/** The hook a final state calls for, if any. */
export function hookForState(state: State): HookName | undefined {
  switch (state.type) {
    case "COMPLETED":
      return "onCompletion";
    case "FAILED":
      return "onFailure";
    case "CANCELLED":
      return "onCancellation";
    case "CRASHED":
      return "onCrashed";
    case "RUNNING":
      return "onRunning";
    default:
      return undefined;
  }
}

/**
 * Runs the run's `which` hooks in order. Returns undefined when there are none, so the common
 * hook-less run awaits nothing (this sits on every task run's path).
 */
export function runHooks(
  which: HookName,
  options: HookOptions,
  scope: RunScope,
  event: Omit<HookEvent, "name">,
): Promise<void> | undefined {
  const hooks = list(options[which]);
  if (hooks.length === 0) return undefined;
  return (async () => {
    for (const hook of hooks) {
      try {
        await runStorage.run(scope, hook, { ...event, name: options.name });
      } catch (err) {
        scope.logger.error(`${which} hook ${hook.name || "(anonymous)"} failed: ${errorDetail(err)}`);
      }
    }
  })();
}
