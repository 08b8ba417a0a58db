import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import type { State } from "@flowplane/core";
import {
  allowFailure,
  asCompleted,
  flow,
  inputsCacheKey,
  inputsOnlyCacheKey,
  task,
  waitAll,
  withTags,
  type Flow,
  type FutureArgs,
  type HookEvent,
  type Task,
  type TaskFuture,
} from "./index.ts";

describe("task types", () => {
  const fetchApi = task({ name: "fetch_api" }, async (url: string, retries?: number) => ({ url, retries }));
  const syncTask = task({ name: "sync" }, (n: number) => n * 2);
  const noArgs = task({ name: "no_args" }, () => "x" as const);

  it("preserves parameters and unwraps the return type", () => {
    expectTypeOf(fetchApi).toEqualTypeOf<
      Task<[url: string, retries?: number], Promise<{ url: string; retries: number | undefined }>>
    >();
    expectTypeOf(fetchApi).parameters.toEqualTypeOf<FutureArgs<[url: string, retries?: number]>>();
    expectTypeOf(fetchApi).returns.toEqualTypeOf<Promise<{ url: string; retries: number | undefined }>>();
    expectTypeOf(syncTask).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(noArgs).parameters.toEqualTypeOf<[]>();
    expectTypeOf(noArgs).returns.toEqualTypeOf<Promise<"x">>();
  });

  it("rejects wrong arguments", () => {
    // @ts-expect-error url must be a string
    void fetchApi(1);
    // @ts-expect-error missing argument
    void syncTask();
  });

  it("types submit futures", () => {
    expectTypeOf(syncTask.submit).parameters.toEqualTypeOf<[n: number | TaskFuture<number>]>();
    expectTypeOf(syncTask.submit(1)).toEqualTypeOf<TaskFuture<number>>();
    expectTypeOf(syncTask.submit(1).result()).toEqualTypeOf<Promise<number>>();
    expectTypeOf(syncTask.submit(1).wait()).toEqualTypeOf<Promise<State>>();
    expectTypeOf(syncTask.submit(1).id).toBeString();
  });

  it("types map over single-argument tasks and mapArgs over tuples", () => {
    expectTypeOf(syncTask.map([1, 2])).toEqualTypeOf<Promise<number[]>>();
    expectTypeOf(fetchApi.map(["a"])).toEqualTypeOf<Promise<{ url: string; retries: number | undefined }[]>>();
    // @ts-expect-error items must match the parameter type
    void syncTask.map(["a"]);
    const add = task({ name: "add" }, (a: number, b: number) => a + b);
    expectTypeOf(add.mapArgs([[1, 2]])).toEqualTypeOf<Promise<number[]>>();
    // @ts-expect-error a task that needs two arguments cannot map single values
    void add.map([1, 2]);
    // @ts-expect-error tuples must match the parameters
    void add.mapArgs([[1, "2"]]);
  });

  it("types cacheKey and taskRunName against the task's parameters", () => {
    task(
      {
        name: "typed_options",
        cacheKey: (_ctx, args) => {
          expectTypeOf(args).toEqualTypeOf<[id: string, n: number]>();
          return args[0];
        },
        taskRunName: (id, n) => `${id}-${n}`,
      },
      async (id: string, n: number) => n,
    );
    task({ name: "default_key", cacheKey: inputsCacheKey }, async (x: { a: number }) => x.a);
    // @ts-expect-error taskRunName must accept the task's arguments
    task({ name: "bad_name", taskRunName: (x: boolean) => String(x) }, async (n: number) => n);
  });
});

describe("flow types", () => {
  it("preserves parameters and return type", () => {
    const etl = flow({ name: "etl" }, async (_params: { day: string }) => ({ rows: 3 }));
    expectTypeOf(etl).toEqualTypeOf<Flow<[params: { day: string }], Promise<{ rows: number }>>>();
    expectTypeOf(etl).returns.toEqualTypeOf<Promise<{ rows: number }>>();
    // @ts-expect-error day must be a string
    void etl({ day: 1 });
  });

  it("derives parameters from a zod schema: callers pass its input, the function gets its output", () => {
    const schema = z.object({ day: z.string(), limit: z.number().default(10) });
    const f = flow({ name: "schema_flow", parameters: schema }, async (p) => {
      expectTypeOf(p).toEqualTypeOf<{ day: string; limit: number }>();
      return p.limit;
    });
    expectTypeOf(f).parameters.toEqualTypeOf<[params: { day: string; limit?: number | undefined }]>();
    expectTypeOf(f).returns.toEqualTypeOf<Promise<number>>();
    // @ts-expect-error day is required
    void f({ limit: 1 });
  });

  it("makes the parameters argument optional when every field is", () => {
    const f = flow({ name: "all_optional", parameters: z.object({ n: z.number().optional() }) }, async () => 1);
    expectTypeOf(f).parameters.toEqualTypeOf<[params?: { n?: number | undefined }]>();
  });

  it("rejects a function whose parameter conflicts with the schema", () => {
    // @ts-expect-error the schema yields a string day, the function wants a number
    flow({ name: "conflict", parameters: z.object({ day: z.string() }) }, async (p: { day: number }) => p.day);
  });

  it("types sub-flow calls like any call", () => {
    const child = flow({ name: "child" }, (n: number) => String(n));
    flow({ name: "parent" }, async () => {
      expectTypeOf(await child(1)).toBeString();
    });
  });
});

describe("futures as inputs", () => {
  const produce = task({ name: "produce" }, async () => 21);
  const label = task({ name: "label" }, async () => "x");
  const double = task({ name: "double" }, (n: number) => n * 2);
  const maybe = task({ name: "maybe" }, (n: number | undefined) => n ?? 0);

  it("accepts a future where its value is expected, and rejects a future of the wrong type", () => {
    flow({ name: "wiring" }, async () => {
      const f = produce.submit();
      expectTypeOf(await double(f)).toEqualTypeOf<number>();
      expectTypeOf(double.submit(f)).toEqualTypeOf<TaskFuture<number>>();
      // @ts-expect-error a future of a string cannot feed a number parameter
      void double(label.submit());
    });
  });

  it("accepts allowFailure only where the parameter accepts undefined", () => {
    flow({ name: "allowed" }, async () => {
      const f = produce.submit();
      expectTypeOf(await maybe(allowFailure(f))).toEqualTypeOf<number>();
      // @ts-expect-error the value is undefined when the upstream run failed
      void double(allowFailure(f));
    });
  });

  it("maps over values and futures alike", () => {
    flow({ name: "map_futures" }, async () => {
      expectTypeOf(double.map([1, produce.submit()])).toEqualTypeOf<Promise<number[]>>();
      // @ts-expect-error a future of a string is not a number item
      void double.map([label.submit()]);
      const add = task({ name: "add2" }, (a: number, b: number) => a + b);
      expectTypeOf(add.mapArgs([[produce.submit(), 1]])).toEqualTypeOf<Promise<number[]>>();
    });
  });

  it("gives cacheKey functions the resolved argument types", () => {
    const keyed = task(
      {
        name: "keyed",
        cacheKey: (ctx, args) => {
          expectTypeOf(args).toEqualTypeOf<[n: number]>();
          expectTypeOf(ctx.taskSourceHash).toBeString();
          return inputsOnlyCacheKey(ctx, args);
        },
      },
      (n: number) => n,
    );
    flow({ name: "keyed_flow" }, async () => {
      expectTypeOf(await keyed(produce.submit())).toEqualTypeOf<number>();
    });
  });

  it("resolves futures a flow returns in its call type", () => {
    const one = flow({ name: "returns_future" }, async () => produce.submit());
    expectTypeOf(one).returns.toEqualTypeOf<Promise<number>>();
    const many = flow({ name: "returns_futures" }, async () => [produce.submit(), produce.submit()]);
    expectTypeOf(many).returns.toEqualTypeOf<Promise<number[]>>();
    const mixed = flow({ name: "returns_tuple" }, async () => [produce.submit(), "x"] as const);
    expectTypeOf(mixed).returns.toEqualTypeOf<Promise<readonly [number, "x"]>>();
  });

  it("types future helpers", () => {
    flow({ name: "helpers" }, async () => {
      const futures = [produce.submit(), produce.submit()];
      expectTypeOf(futures[0]!.result({ timeoutSeconds: 1 })).toEqualTypeOf<Promise<number>>();
      for await (const done of asCompleted(futures)) expectTypeOf(done).toEqualTypeOf<TaskFuture<number>>();
      expectTypeOf(await waitAll(futures)).toEqualTypeOf<{
        done: TaskFuture<number>[];
        pending: TaskFuture<number>[];
      }>();
      const waited = double.withOptions({ waitFor: [futures[0]!, allowFailure(futures[1]!)] });
      expectTypeOf(waited).toEqualTypeOf<typeof double>();
    });
  });
});

describe("hooks, names and tags", () => {
  it("types hook events and flowRunName", () => {
    flow(
      {
        name: "hooked",
        flowRunName: (params) => `run-${String(params.day)}`,
        onCompletion: (event) => expectTypeOf(event).toEqualTypeOf<HookEvent>(),
        onFailure: [(event) => expectTypeOf(event.error).toBeUnknown()],
      },
      async (_p: { day: string }) => 1,
    );
    task({ name: "hooked_task", onRunning: async (event) => void event.runId }, () => 1);
  });

  it("returns what the withTags body returns", () => {
    expectTypeOf(withTags(["a"], () => 1)).toEqualTypeOf<number>();
    expectTypeOf(withTags(["a"], async () => "x")).toEqualTypeOf<Promise<string>>();
  });
});
