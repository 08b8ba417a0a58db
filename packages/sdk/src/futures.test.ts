// Futures as Prefect users use them: as task inputs (edges recorded), in waitFor, allowFailure,
// waiting with a time limit, asCompleted/waitAll, and flows returning futures.
import { describe, expect, it } from "vitest";
import { getRunContext } from "./context.ts";
import { FlowRunError, ResultTimeoutError, TaskRunError } from "./errors.ts";
import { flow } from "./flow.ts";
import { allowFailure, asCompleted, waitAll } from "./future.ts";
import { inputsCacheKey } from "./results/cache-key.ts";
import { task } from "./task.ts";
import { rejectionOf, useTestEnv } from "./test-support.ts";

const env = useTestEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const produce = task({ name: "produce" }, async (n: number, delayMs: number = 0) => {
  await sleep(delayMs);
  return n;
});
const explode = task({ name: "explode" }, async (): Promise<number> => {
  throw new Error("upstream broke");
});

describe("futures as task arguments", () => {
  it('passes the future\'s value, not the future object (regression: the task got "[object Object]")', async () => {
    const describeIt = task({ name: "describe_it" }, (n: number) => `${typeof n}:${n}`);
    const f = flow({ name: "future_args" }, async () => describeIt(produce.submit(21)));
    expect(await f()).toBe("number:21");
  });

  it("records the upstream task runs that fed each task run", async () => {
    const add = task({ name: "add" }, (a: number, b: number) => a + b);
    let ids: { a: string; b: string; sum: string } | undefined;
    const f = flow({ name: "edges" }, async () => {
      const a = produce.submit(1, 10);
      const b = produce.submit(2);
      const sum = add.submit(a, b);
      const after = produce.withOptions({ waitFor: [sum] }).submit(3);
      ids = { a: a.id, b: b.id, sum: sum.id };
      return [await sum.result(), await after.result()];
    });
    expect(await f()).toEqual([3, 3]);
    const record = (id: string) => env.tracker.taskRun(id).record;
    expect(record(ids!.sum).inputTaskRunIds).toEqual([ids!.a, ids!.b]);
    expect(record(ids!.a).inputTaskRunIds).toBeUndefined();
    const waited = env.tracker.taskRuns.find((t) => t.record.inputTaskRunIds?.includes(ids!.sum));
    expect(waited?.record.taskKey).toBe("produce");
  });

  it("starts the downstream run only after its upstream runs finish", async () => {
    const order: string[] = [];
    const slow = task({ name: "slow_up" }, async () => {
      await sleep(20);
      order.push("upstream done");
      return 1;
    });
    const down = task({ name: "down" }, (n: number) => {
      order.push("downstream ran");
      return n;
    });
    await flow({ name: "ordering" }, async () => down(slow.submit()))();
    expect(order).toEqual(["upstream done", "downstream ran"]);
  });

  it("fails the downstream run without running it when an upstream future failed", async () => {
    let ran = false;
    const down = task({ name: "never_runs" }, (n: number) => {
      ran = true;
      return n;
    });
    let downId = "";
    const f = flow({ name: "upstream_failure" }, async () => {
      const future = down.submit(explode.submit());
      downId = future.id;
      return rejectionOf(future.result());
    });
    const err = (await f()) as TaskRunError;
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(TaskRunError);
    expect(err.message).toMatch(/Upstream task run .* ended FAILED/);
    expect(env.tracker.stateNames(downId)).toEqual(["Pending", "Failed"]);
  });

  it("runs with undefined in place of a failed upstream wrapped in allowFailure", async () => {
    const fallback = task({ name: "fallback" }, (n: number | undefined) => n ?? -1);
    const f = flow({ name: "allowed" }, async () => [
      await fallback(allowFailure(explode.submit())),
      await fallback(allowFailure(produce.submit(5))),
    ]);
    expect(await f()).toEqual([-1, 5]);
  });

  it("waits for waitFor futures; a failed one fails the run unless allowed", async () => {
    const side = task({ name: "side" }, () => "ran");
    const f = flow({ name: "wait_for" }, async () => {
      const broken = explode.submit();
      const blocked = await rejectionOf(side.withOptions({ waitFor: [broken] })());
      const allowed = await side.withOptions({ waitFor: [allowFailure(broken)] })();
      return { blocked, allowed };
    });
    const { blocked, allowed } = await f();
    expect(blocked).toBeInstanceOf(TaskRunError);
    expect(allowed).toBe("ran");
  });

  it("refuses a waitFor entry that is not a future", () => {
    expect(() => produce.withOptions({ waitFor: [Promise.resolve(1) as never] })).toThrow(
      /waitFor must be a list of task futures/,
    );
  });

  it("maps over futures and resolves them for cache-key functions", async () => {
    const keys: unknown[][] = [];
    const cached = task(
      {
        name: "cached_square",
        cacheKey: (ctx, args) => {
          keys.push(args);
          return inputsCacheKey(ctx, args);
        },
      },
      (n: number) => n * n,
    );
    const f = flow({ name: "map_futures" }, async () => cached.map([produce.submit(2), 3]));
    expect(await f()).toEqual([4, 9]);
    // Values, never futures; the plain item is keyed first since it needs no wait.
    expect(keys).toEqual([[3], [2]]);
  });
});

describe("waiting on futures", () => {
  it("result({ timeoutSeconds }) rejects with ResultTimeoutError while the run goes on", async () => {
    const f = flow({ name: "result_timeout" }, async () => {
      const future = produce.submit(7, 80);
      const err = await rejectionOf(future.result({ timeoutSeconds: 0.01 }));
      return { err, value: await future.result() };
    });
    const { err, value } = await f();
    expect(err).toBeInstanceOf(ResultTimeoutError);
    expect((err as ResultTimeoutError).state.type).toBe("RUNNING");
    expect(value).toBe(7);
  });

  it("wait({ timeoutSeconds }) returns the current state when the time is up", async () => {
    const f = flow({ name: "wait_timeout" }, async () => {
      const future = produce.submit(1, 80);
      const early = await future.wait({ timeoutSeconds: 0.01 });
      const final = await future.wait();
      return [early.type, final.type];
    });
    expect(await f()).toEqual(["RUNNING", "COMPLETED"]);
  });

  it("asCompleted yields futures in the order they finish, failures included", async () => {
    const f = flow({ name: "as_completed" }, async () => {
      const futures = [produce.submit(1, 40), explode.submit(), produce.submit(3, 10)];
      const seen: string[] = [];
      for await (const future of asCompleted(futures)) {
        seen.push(future.state.type === "COMPLETED" ? String(await future.result()) : future.state.type);
      }
      return seen;
    });
    expect(await f()).toEqual(["FAILED", "3", "1"]);
  });

  it("asCompleted with a time limit throws ResultTimeoutError for what is still running", async () => {
    const f = flow({ name: "as_completed_timeout" }, async () => {
      const seen: number[] = [];
      const err = await rejectionOf(
        (async () => {
          for await (const future of asCompleted([produce.submit(1), produce.submit(2, 200)], { timeoutSeconds: 0.05 }))
            seen.push(await future.result());
        })(),
      );
      return { seen, err };
    });
    const { seen, err } = await f();
    expect(seen).toEqual([1]);
    expect(err).toBeInstanceOf(ResultTimeoutError);
  });

  it("waitAll waits for every run, never rejects, and reports unfinished ones after a time limit", async () => {
    const f = flow({ name: "wait_all" }, async () => {
      const all = await waitAll([produce.submit(1), explode.submit()]);
      const slow = produce.submit(2, 200);
      const limited = await waitAll([produce.submit(3), slow], { timeoutSeconds: 0.05 });
      return {
        all: all.done.map((x) => x.state.type),
        limitedDone: limited.done.length,
        limitedPending: limited.pending.map((x) => x.id === slow.id),
      };
    });
    expect(await f()).toEqual({ all: ["COMPLETED", "FAILED"], limitedDone: 1, limitedPending: [true] });
  });
});

describe("flows returning futures", () => {
  it("resolve a returned future to its value (regression: the future object was returned)", async () => {
    const f = flow({ name: "returns_future" }, async () => produce.submit(4));
    expect(await f()).toBe(4);
  });

  it("resolve returned arrays of futures", async () => {
    const f = flow({ name: "returns_futures" }, async () => [produce.submit(1), produce.submit(2), "x"]);
    expect(await f()).toEqual([1, 2, "x"]);
  });

  it("fail when a returned future failed (regression: the run ended COMPLETED)", async () => {
    let flowRunId = "";
    const f = flow({ name: "returns_failed_future" }, async () => {
      flowRunId = getRunContext().flowRun.id;
      return explode.submit();
    });
    const err = (await rejectionOf(f())) as FlowRunError;
    expect(err).toBeInstanceOf(FlowRunError);
    expect(err.cause).toBeInstanceOf(TaskRunError);
    expect(env.tracker.flowRun(flowRunId).state.type).toBe("FAILED");
  });
});
