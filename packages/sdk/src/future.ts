// Futures: handles on task runs started with `task.submit(...)` (and the items of `map`). A future
// can be awaited through result()/wait(), passed to another task as an argument or in `waitFor`
// (the downstream run then waits for it and records the edge), and returned from a flow.
import { StateNames, type State } from "@flowplane/core";
import { InvalidArgumentError, ResultTimeoutError } from "./errors.ts";

export interface ResultOptions {
  /**
   * Give up waiting after this long. The task run itself keeps going: JavaScript cannot stop
   * running code from outside (see the package docs on timeouts).
   */
  timeoutSeconds?: number;
}

/** A task run started with `task.submit(...)`. */
export interface TaskFuture<R> {
  /** The task run id, known before the run starts. */
  readonly id: string;
  /** The latest state of the task run. */
  readonly state: State;
  /**
   * The task's value; rejects with the task's error (TaskRunError, TimeoutError…), or with
   * ResultTimeoutError when `timeoutSeconds` passes first.
   */
  result(options?: ResultOptions): Promise<R>;
  /**
   * The final state; never rejects. With `timeoutSeconds`, resolves with the state the run is in
   * when the time is up (check `isTerminal(state.type)`).
   */
  wait(options?: ResultOptions): Promise<State>;
}

const FUTURE = Symbol.for("flowplane.taskFuture");
const ALLOW_FAILURE = Symbol.for("flowplane.allowFailure");

export class TaskFutureImpl<R> implements TaskFuture<R> {
  readonly [FUTURE] = true;
  state: State;
  /** Set once the run's promise settled (its state may still read PENDING if it never started). */
  outcome: { ok: true; value: R } | { ok: false; error: unknown } | undefined;
  private promise!: Promise<R>;

  constructor(readonly id: string) {
    this.state = { type: "PENDING", name: StateNames.Pending, timestamp: new Date().toISOString(), details: {} };
  }

  readonly onState = (state: State): void => {
    this.state = state;
  };

  attach(promise: Promise<R>): void {
    this.promise = promise;
    promise.then(
      (value) => void (this.outcome = { ok: true, value }),
      (error: unknown) => void (this.outcome = { ok: false, error }),
    );
    // A future nobody asks for the result of must not crash the process with an unhandled
    // rejection; result() still hands the rejection to whoever awaits it.
    void promise.catch(() => undefined);
  }

  /** Settles when the run does (never rejects); what every wait in this module is built on. */
  settled(): Promise<void> {
    return this.promise.then(
      () => undefined,
      () => undefined,
    );
  }

  result(options: ResultOptions = {}): Promise<R> {
    const ms = timeoutMs(options);
    if (ms === undefined) return this.promise;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ResultTimeoutError(this.id, options.timeoutSeconds!, this.state)), ms);
      this.promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  async wait(options: ResultOptions = {}): Promise<State> {
    const ms = timeoutMs(options);
    if (ms === undefined) {
      await this.settled();
      return this.state;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeUp = new Promise<void>((resolve) => {
      timer = setTimeout(() => resolve(), ms);
    });
    await Promise.race([this.settled(), timeUp]);
    clearTimeout(timer);
    return this.state;
  }
}

function timeoutMs(options: ResultOptions): number | undefined {
  const t = options.timeoutSeconds;
  if (t === undefined) return undefined;
  if (!(t >= 0 && Number.isFinite(t))) {
    throw new InvalidArgumentError(`timeoutSeconds must be a non-negative number, got ${t}`);
  }
  return t * 1000;
}

export function isTaskFuture(value: unknown): value is TaskFutureImpl<unknown> {
  return typeof value === "object" && value !== null && (value as { [FUTURE]?: unknown })[FUTURE] === true;
}

/** A future whose failure does not stop the task it feeds (see allowFailure). */
export interface AllowedFailure<R> {
  readonly future: TaskFuture<R>;
  /** Type brand only; never set at runtime. */
  readonly __allowedFailure?: R;
}

/**
 * Lets a downstream task run even when `future` fails. In `waitFor` the downstream run simply goes
 * ahead; as an argument it receives the value, or `undefined` when the upstream run failed (so the
 * parameter's type must accept undefined).
 */
export function allowFailure<R>(future: TaskFuture<R>): AllowedFailure<R> {
  if (!isTaskFuture(future)) throw new InvalidArgumentError("allowFailure() takes a task future (from submit or map)");
  return { future, [ALLOW_FAILURE]: true } as AllowedFailure<R>;
}

export function isAllowedFailure(
  value: unknown,
): value is AllowedFailure<unknown> & { future: TaskFutureImpl<unknown> } {
  return (
    typeof value === "object" && value !== null && (value as { [ALLOW_FAILURE]?: unknown })[ALLOW_FAILURE] === true
  );
}

/**
 * Yields each future as it reaches a final state (fastest first), whatever that state is; read
 * `future.state` or `await future.result()` in the loop. With `timeoutSeconds`, throws
 * ResultTimeoutError for the first future still unsettled when the time is up.
 */
export async function* asCompleted<R>(
  futures: Iterable<TaskFuture<R>>,
  options: ResultOptions = {},
): AsyncGenerator<TaskFuture<R>, void, undefined> {
  const remaining = new Set(Array.from(futures, checkedFuture));
  const ms = timeoutMs(options);
  const deadline = ms === undefined ? undefined : Date.now() + ms;
  while (remaining.size > 0) {
    const next = Promise.race([...remaining].map((f) => f.settled().then(() => f)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeUp =
      deadline === undefined
        ? undefined
        : new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
          });
    const done = await (timeUp === undefined ? next : Promise.race([next, timeUp]));
    clearTimeout(timer);
    if (done === undefined) {
      const first = remaining.values().next().value!;
      throw new ResultTimeoutError(first.id, options.timeoutSeconds!, first.state);
    }
    remaining.delete(done);
    yield done;
  }
}

/**
 * Waits until every future has reached a final state (never rejects on a failed run) and returns
 * them split by outcome. With `timeoutSeconds`, returns when the time is up with the unfinished
 * ones in `pending`.
 */
export async function waitAll<R>(
  futures: Iterable<TaskFuture<R>>,
  options: ResultOptions = {},
): Promise<{ done: TaskFuture<R>[]; pending: TaskFuture<R>[] }> {
  const all = Array.from(futures, checkedFuture);
  const ms = timeoutMs(options);
  const everything = Promise.all(all.map((f) => f.settled()));
  if (ms === undefined) await everything;
  else {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      everything,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => resolve(), ms);
      }),
    ]);
    clearTimeout(timer);
  }
  const done = all.filter((f) => f.outcome !== undefined);
  return { done, pending: all.filter((f) => !done.includes(f)) };
}

function checkedFuture<R>(value: TaskFuture<R>): TaskFutureImpl<R> {
  if (!isTaskFuture(value)) throw new InvalidArgumentError("expected task futures (from submit or map)");
  return value as TaskFutureImpl<R>;
}
