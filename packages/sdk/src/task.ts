import { currentScope } from "./context.ts";
import { registerRunKey } from "./engine/common.ts";
import { runStandaloneTask, runTask, type TaskDefinition } from "./engine/run-task.ts";
import { TaskFutureImpl, type AllowedFailure, type TaskFuture } from "./future.ts";
import { uuidv7 } from "@flowplane/core";
import { checkConcurrency, checkTaskOptions, type MapOptions, type TaskOptions } from "./options.ts";
import { sourceHash } from "./results/cache-key.ts";

/**
 * An argument as a caller may pass it: the value, a future of it (the run waits for it and records
 * the edge), or — where the parameter accepts undefined — allowFailure(future).
 */
export type ArgOrFuture<T> = T | TaskFuture<T> | (undefined extends T ? AllowedFailure<T> : never);

/** A task's parameters, each also accepting a future of its value. */
export type FutureArgs<Args extends unknown[]> = { [K in keyof Args]: ArgOrFuture<Args[K]> };

/** `map` items: a task that can be called with one argument maps over values of that argument. */
type MapItems<Args extends unknown[]> = [Args[0]] extends Args ? Iterable<ArgOrFuture<Args[0]>> : never;

export interface Task<Args extends unknown[], R> {
  /**
   * Runs the task as a task run: inside a flow run, one of its task runs; outside any flow, in an
   * implicit flow run of its own. Either way with the task's retries, timeout, caching and hooks.
   */
  (...args: FutureArgs<Args>): Promise<Awaited<R>>;
  readonly name: string;
  /** Identifies the task within a flow run's task runs (the name, suffixed if two tasks share it). */
  readonly taskKey: string;
  readonly options: Readonly<TaskOptions<Args>>;
  /** Starts a task run now and returns its future. */
  submit(...args: FutureArgs<Args>): TaskFuture<Awaited<R>>;
  /**
   * One task run per item, each item passed as the task's (first and only) argument; resolves to
   * the values in item order. Every item runs (at most `concurrency` at once); if some fail, the
   * first failure in item order is thrown once all have settled — or at once with `failFast`.
   * Only for tasks callable with one argument; see mapArgs.
   */
  map(items: MapItems<Args>, options?: MapOptions): Promise<Awaited<R>[]>;
  /** Like map, for tasks of several parameters: each item is a tuple of arguments. */
  mapArgs(items: Iterable<FutureArgs<Args>>, options?: MapOptions): Promise<Awaited<R>[]>;
  /** The same task (same key, so same cache entries) with some options changed. */
  withOptions(options: Partial<TaskOptions<Args>>): Task<Args, R>;
}

/**
 * Wraps a function as a task. Every call is a task run with its own states, retries, timeout,
 * cache and logs — in the calling flow run, or in an implicit one when called outside any flow.
 */
export function task<Args extends unknown[], R>(
  options: TaskOptions<NoInfer<Args>>,
  fn: (...args: Args) => R,
): Task<Args, R> {
  return makeTask(options, fn, registerRunKey(options.name, fn), sourceHash(fn));
}

function makeTask<Args extends unknown[], R>(
  options: TaskOptions<Args>,
  fn: (...args: Args) => R,
  taskKey: string,
  fnSourceHash: string,
): Task<Args, R> {
  checkTaskOptions(options);
  const frozen = Object.freeze({ ...options, ...(options.tags ? { tags: Object.freeze([...options.tags]) } : {}) });
  const def: TaskDefinition<Args, R> = {
    fn,
    options: frozen,
    taskKey,
    sourceHash: fnSourceHash,
    tags: [...(options.tags ?? [])],
    retries: options.retries ?? 0,
    retryPolicy: {
      retries: options.retries ?? 0,
      ...(options.retryDelaySeconds !== undefined ? { retryDelaySeconds: options.retryDelaySeconds } : {}),
      ...(options.retryJitterFactor !== undefined ? { retryJitterFactor: options.retryJitterFactor } : {}),
    },
    persist: options.persistResult ?? options.cacheKey !== undefined,
  };

  const start = (args: readonly unknown[], id: string, future?: TaskFutureImpl<Awaited<R>>): Promise<Awaited<R>> => {
    const scope = currentScope();
    return scope === undefined
      ? runStandaloneTask(def, args, id, future?.onState)
      : runTask(def, args, scope, id, future?.onState);
  };

  const submit = (args: readonly unknown[]): TaskFutureImpl<Awaited<R>> => {
    const future = new TaskFutureImpl<Awaited<R>>(uuidv7());
    const promise = start(args, future.id, future);
    future.attach(promise);
    const scope = currentScope();
    if (scope !== undefined) {
      // The flow run waits for its submitted task runs before recording its own final state.
      const pending = scope.shared.pending;
      pending.add(promise);
      const done = (): void => void pending.delete(promise);
      void promise.then(done, done);
    }
    return future;
  };

  const mapCalls = async (argsList: unknown[][], mapOptions: MapOptions | undefined): Promise<Awaited<R>[]> => {
    checkConcurrency(mapOptions?.concurrency);
    const failFast = mapOptions?.failFast ?? false;
    const outcomes = new Array<PromiseSettledResult<Awaited<R>>>(argsList.length);
    let next = 0;
    let stopped = false;
    let rejectFast: (error: unknown) => void = () => undefined;
    const failedFast = new Promise<never>((_, reject) => (rejectFast = reject));
    void failedFast.catch(() => undefined);
    const worker = async (): Promise<void> => {
      while (!stopped && next < argsList.length) {
        const i = next++;
        try {
          // failFast may return before a started run ends, so that run must be one the flow
          // waits for (a submitted one); otherwise map itself awaits every run it starts.
          const run = failFast ? submit(argsList[i]!).result() : start(argsList[i]!, uuidv7());
          outcomes[i] = { status: "fulfilled", value: await run };
        } catch (reason) {
          outcomes[i] = { status: "rejected", reason };
          if (failFast) {
            // Runs already started go on (the flow run still waits for them); no new item starts.
            stopped = true;
            rejectFast(reason);
          }
        }
      }
    };
    const workers = Math.min(mapOptions?.concurrency ?? argsList.length, argsList.length);
    const all = Promise.all(Array.from({ length: workers }, worker));
    await (failFast ? Promise.race([all, failedFast]) : all);
    const failure = outcomes.find((o) => o.status === "rejected");
    if (failure !== undefined) throw failure.reason;
    return outcomes.map((o) => (o as PromiseFulfilledResult<Awaited<R>>).value);
  };

  const callable = (...args: FutureArgs<Args>): Promise<Awaited<R>> => start(args, uuidv7());
  Object.defineProperty(callable, "name", { value: options.name });
  return Object.assign(callable, {
    taskKey,
    options: frozen,
    submit(...args: FutureArgs<Args>): TaskFuture<Awaited<R>> {
      return submit(args);
    },
    map(items: MapItems<Args>, mapOptions?: MapOptions): Promise<Awaited<R>[]> {
      return mapCalls(
        Array.from(items as Iterable<unknown>, (item) => [item]),
        mapOptions,
      );
    },
    mapArgs(items: Iterable<FutureArgs<Args>>, mapOptions?: MapOptions): Promise<Awaited<R>[]> {
      return mapCalls(Array.from(items as Iterable<unknown[]>), mapOptions);
    },
    withOptions(changes: Partial<TaskOptions<Args>>): Task<Args, R> {
      return makeTask({ ...options, ...changes }, fn, taskKey, fnSourceHash);
    },
  }) as Task<Args, R>;
}
