// Small pieces shared by the flow and task engines.
import { createHash } from "node:crypto";
import { StateNames, type State, type StateDetails, type StateInput, type StateType } from "@flowplane/core";
import { NEVER_ABORTED } from "../context.ts";
import { TimeoutError } from "../errors.ts";

/**
 * StateDetails plus the SDK's `noRetry` flag: set on a FAILED proposal when the retry condition
 * said stop, so the orchestrator must not schedule a retry even though retries remain.
 */
export type EngineStateDetails = StateDetails & { noRetry?: boolean };

/** A state the engine reports: a complete State that is also a valid proposal (StateInput). */
export type EngineState = State & StateInput;

export function makeState(
  type: StateType,
  name: string,
  message?: string,
  details: EngineStateDetails = {},
): EngineState {
  const state: EngineState = { type, name, timestamp: new Date().toISOString(), details };
  if (message !== undefined) state.message = message;
  return state;
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sleeps until the wall clock reaches `iso`. Timers may fire a millisecond before Date.now() agrees,
 * and proposing RUNNING even slightly early earns a WAIT rounded up to whole seconds.
 */
export async function sleepUntil(iso: string): Promise<void> {
  for (let ms = msUntil(iso); ms > 0; ms = msUntil(iso)) await sleep(ms);
}

/** ms until an ISO time (0 if it has passed or is unreadable). */
export function msUntil(iso: string | undefined): number {
  if (iso === undefined) return 0;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : Math.max(0, t - Date.now());
}

/** A signal that fires when either fires; avoids AbortSignal.any when one side can never fire. */
export function combineSignals(parent: AbortSignal, own: AbortSignal): AbortSignal {
  return parent === NEVER_ABORTED ? own : AbortSignal.any([parent, own]);
}

/**
 * One attempt's timeout. `signal` is the parent's signal combined with the attempt's own, which
 * aborts with `reason` (a TimeoutError) after `timeoutSeconds`; `state` is then the FAILED/TimedOut
 * state to record. Without a timeout the attempt runs under the parent's signal alone.
 */
export class AttemptTimeout {
  readonly signal: AbortSignal;
  reason: TimeoutError | undefined;
  state: EngineState | undefined;
  private readonly timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    kind: "flow" | "task",
    runId: string,
    runName: string,
    timeoutSeconds: number | undefined,
    parent: AbortSignal,
  ) {
    if (timeoutSeconds === undefined) {
      this.signal = parent;
      return;
    }
    const controller = new AbortController();
    this.signal = combineSignals(parent, controller.signal);
    this.timer = setTimeout(() => {
      const run = `${kind === "flow" ? "Flow" : "Task"} run '${runName}'`;
      this.state = makeState("FAILED", StateNames.TimedOut, `${run} timed out after ${timeoutSeconds}s`);
      this.reason = new TimeoutError(kind, runId, runName, timeoutSeconds, this.state);
      controller.abort(this.reason);
    }, timeoutSeconds * 1000);
  }

  /** The attempt's work, given up on (rejected with the TimeoutError) when the timeout fires. */
  race<T>(work: T | PromiseLike<T>): Promise<Awaited<T>> {
    return this.timer === undefined ? Promise.resolve(work as Awaited<T>) : raceSignal(work, this.signal);
  }

  /** Whether `error` is this timeout firing (rather than the attempt's own failure). */
  firedAs(error: unknown): boolean {
    return this.reason !== undefined && error === this.reason;
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/**
 * Settles with `value`, or rejects with the signal's reason as soon as it aborts. The underlying
 * work cannot be stopped from outside (JavaScript has no thread kill); code that should stop
 * early observes getRunContext().signal.
 */
export function raceSignal<T>(value: T | PromiseLike<T>, signal: AbortSignal): Promise<Awaited<T>> {
  return new Promise<Awaited<T>>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(value).then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v as Awaited<T>);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

export function errorDetail(err: unknown): string {
  return err instanceof Error && err.stack ? err.stack : String(err);
}

// name → (source → key). The first function registered under a name gets the bare name as its key;
// another function with the same name gets a suffix from its source, which is stable across
// processes (unlike definition order). Same name and same source (a task made by a factory) is the
// same task, so it shares the key.
const keys = new Map<string, Map<string, string>>();

export function registerRunKey(name: string, fn: (...args: never[]) => unknown): string {
  const source = fn.toString();
  let bySource = keys.get(name);
  if (bySource === undefined) {
    bySource = new Map();
    keys.set(name, bySource);
  }
  let key = bySource.get(source);
  if (key === undefined) {
    key = bySource.size === 0 ? name : `${name}-${createHash("sha256").update(source).digest("hex").slice(0, 8)}`;
    bySource.set(source, key);
  }
  return key;
}
