import { currentScope } from "./context.ts";
import { registerRunKey } from "./engine/common.ts";
import { runTask, runUntracked, type TaskDefinition } from "./engine/run-task.ts";
import { TaskFutureImpl, type TaskFuture } from "./future.ts";
import { uuidv7 } from "@flowplane/core";
import { checkConcurrency, checkTaskOptions, type MapOptions, type TaskOptions } from "./options.ts";

/** `map` items: a task that can be called with one argument maps over values of that argument. */
type MapItems<Args extends unknown[]> = [Args[0]] extends Args ? Iterable<Args[0]> : never;

export interface Task<Args extends unknown[], R> {
  /** Runs the task (a tracked task run inside a flow run; a plain call outside one). */
  (...args: Args): Promise<Awaited<R>>;
  readonly name: string;
  /** Identifies the task within a flow run's task runs (the name, suffixed if two tasks share it). */
  readonly taskKey: string;
  readonly options: Readonly<TaskOptions<Args>>;
  /** Starts a task run now and returns its future. */
  submit(...args: Args): TaskFuture<Awaited<R>>;
  /**
   * One task run per item, each item passed as the task's (first and only) argument; resolves to
   * the values in item order. On a failure no further items start, runs already started finish,
   * then the first error is thrown. Only for tasks callable with one argument; see mapArgs.
   */
  map(items: MapItems<Args>, options?: MapOptions): Promise<Awaited<R>[]>;
  /** Like map, for tasks of several parameters: each item is a tuple of arguments. */
  mapArgs(items: Iterable<Args>, options?: MapOptions): Promise<Awaited<R>[]>;
  /** The same task (same key, so same cache entries) with some options changed. */
  withOptions(options: Partial<TaskOptions<Args>>): Task<Args, R>;
}

/**
 * Wraps a function as a task. Inside a flow run every call is a task run with its own states,
 * retries, timeout, cache and logs; outside any flow the function just runs.
 */
export function task<Args extends unknown[], R>(
  options: TaskOptions<NoInfer<Args>>,
  fn: (...args: Args) => R,
): Task<Args, R> {
  return makeTask(options, fn, registerRunKey(options.name, fn));
}

function makeTask<Args extends unknown[], R>(
  options: TaskOptions<Args>,
  fn: (...args: Args) => R,
  taskKey: string,
): Task<Args, R> {
  checkTaskOptions(options);
  const frozen = Object.freeze({ ...options, ...(options.tags ? { tags: Object.freeze([...options.tags]) } : {}) });
  const def: TaskDefinition<Args, R> = {
    fn,
    options: frozen,
    taskKey,
    tags: [...(options.tags ?? [])],
    retries: options.retries ?? 0,
    retryPolicy: {
      retries: options.retries ?? 0,
      ...(options.retryDelaySeconds !== undefined ? { retryDelaySeconds: options.retryDelaySeconds } : {}),
      ...(options.retryJitterFactor !== undefined ? { retryJitterFactor: options.retryJitterFactor } : {}),
    },
    persist: options.persistResult ?? options.cacheKey !== undefined,
  };

  const call = (args: Args): Promise<Awaited<R>> => {
    const scope = currentScope();
    return scope === undefined ? runUntracked(def, args) : runTask(def, args, scope, uuidv7());
  };

  const mapCalls = async (argsList: Args[], mapOptions: MapOptions | undefined): Promise<Awaited<R>[]> => {
    checkConcurrency(mapOptions?.concurrency);
    const results = new Array<Awaited<R>>(argsList.length);
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < argsList.length) {
        const i = next++;
        try {
          results[i] = await call(argsList[i]!);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    const workers = Math.min(mapOptions?.concurrency ?? argsList.length, argsList.length);
    await Promise.all(Array.from({ length: workers }, worker));
    if (failure !== undefined) throw failure.error;
    return results;
  };

  const callable = (...args: Args): Promise<Awaited<R>> => call(args);
  Object.defineProperty(callable, "name", { value: options.name });
  return Object.assign(callable, {
    taskKey,
    options: frozen,
    submit(...args: Args): TaskFuture<Awaited<R>> {
      const future = new TaskFutureImpl<Awaited<R>>(uuidv7());
      const scope = currentScope();
      const promise =
        scope === undefined
          ? runUntracked(def, args, future.onState)
          : runTask(def, args, scope, future.id, future.onState);
      future.attach(promise);
      if (scope !== undefined) {
        const pending = scope.shared.pending;
        pending.add(promise);
        const done = (): void => void pending.delete(promise);
        void promise.then(done, done);
      }
      return future;
    },
    map(items: MapItems<Args>, mapOptions?: MapOptions): Promise<Awaited<R>[]> {
      return mapCalls(
        Array.from(items as Iterable<unknown>, (item) => [item] as Args),
        mapOptions,
      );
    },
    mapArgs(items: Iterable<Args>, mapOptions?: MapOptions): Promise<Awaited<R>[]> {
      return mapCalls(Array.from(items), mapOptions);
    },
    withOptions(changes: Partial<TaskOptions<Args>>): Task<Args, R> {
      return makeTask({ ...options, ...changes }, fn, taskKey);
    },
  }) as Task<Args, R>;
}
