import { describe, expect, it } from "vitest";
import { getRunContext } from "./context.ts";
import { TaskRunError, TimeoutError } from "./errors.ts";
import { flow } from "./flow.ts";
import { exponentialBackoff } from "@flowplane/core";
import { task } from "./task.ts";
import { failsFirst, namesAfterRetries, rejectionOf, useTestEnv } from "./test-support.ts";

const env = useTestEnv();

/** Runs `body` inside a throwaway flow and returns its flow run id and result. */
async function inFlow<T>(body: () => Promise<T>): Promise<{ flowRunId: string; value: T }> {
  let flowRunId = "";
  const value = await flow({ name: "harness" }, async () => {
    flowRunId = getRunContext().flowRun.id;
    return body();
  })();
  // The harness never returns futures, so the flow's value is the body's.
  return { flowRunId, value: value as T };
}

describe("task calls inside a flow", () => {
  it("records a task run going Pending → Running → Completed and returns the value", async () => {
    const double = task({ name: "double", tags: ["math"] }, async (x: number) => x * 2);
    const { flowRunId, value } = await inFlow(() => double(21));
    expect(value).toBe(42);
    const [run] = env.tracker.taskRunsOf(flowRunId);
    expect(run?.record).toMatchObject({
      name: "double-0",
      taskKey: "double",
      dynamicKey: "0",
      tags: ["math"],
      flowRunId,
    });
    expect(env.tracker.stateNames(run!.record.id)).toEqual(["Pending", "Running", "Completed"]);
  });

  it("numbers repeated calls of a task with dynamic keys", async () => {
    const t = task({ name: "repeat" }, () => 1);
    const { flowRunId } = await inFlow(async () => {
      await t();
      await t();
      await t();
    });
    expect(env.tracker.taskRunsOf(flowRunId).map((r) => r.record.dynamicKey)).toEqual(["0", "1", "2"]);
  });

  it("gives two different tasks with the same name distinct, stable task keys", async () => {
    const a = task({ name: "same_name" }, () => "a");
    const b = task({ name: "same_name" }, () => "b");
    const a2 = task({ name: "same_name" }, () => "a");
    expect(a.taskKey).toBe("same_name");
    expect(b.taskKey).toMatch(/^same_name-[0-9a-f]{8}$/);
    expect(a2.taskKey).toBe(a.taskKey);
  });

  it("names task runs with taskRunName", async () => {
    const t = task({ name: "fetch", taskRunName: (url: string) => `fetch ${url}` }, async (url: string) => url);
    const { flowRunId } = await inFlow(() => t("/a"));
    expect(env.tracker.taskRunsOf(flowRunId)[0]?.record.name).toBe("fetch /a");
  });

  it("exposes the task run in the run context", async () => {
    const t = task({ name: "ctx" }, () => {
      const ctx = getRunContext();
      return { taskRun: ctx.taskRun, attempt: ctx.attempt, flowRunId: ctx.flowRun.id };
    });
    const { flowRunId, value } = await inFlow(() => t());
    expect(value.taskRun).toMatchObject({ name: "ctx-0", runCount: 1 });
    expect(value.attempt).toBe(1);
    expect(value.flowRunId).toBe(flowRunId);
  });

  it("accepts synchronous task functions, including sync throws", async () => {
    const boom = task({ name: "sync_boom" }, (): number => {
      throw new Error("sync");
    });
    const err = await rejectionOf(inFlow(() => boom()));
    expect((err as Error & { cause: unknown }).cause).toBeInstanceOf(TaskRunError);
  });
});

describe("task retries", () => {
  it("retries in-process and records AwaitingRetry/Retrying states", async () => {
    const flaky = task(
      { name: "flaky", retries: 2, retryDelaySeconds: 0.01 },
      failsFirst(2, "fail", () => getRunContext().taskRun?.runCount),
    );
    const { flowRunId, value } = await inFlow(() => flaky());
    expect(value).toBe(3);
    const id = env.tracker.taskRunsOf(flowRunId)[0]!.record.id;
    expect(env.tracker.stateNames(id)).toEqual(namesAfterRetries(2, "Completed"));
    const awaiting = env.tracker.taskRun(id).states[2]!;
    expect(awaiting).toMatchObject({ type: "SCHEDULED", message: "fail 1" });
    expect(awaiting.details.scheduledTime).toBeDefined();
  });

  it("throws TaskRunError with the final FAILED state and the last cause once retries run out", async () => {
    let calls = 0;
    const bad = task({ name: "always_bad", retries: 1 }, async () => {
      throw new Error(`nope ${++calls}`);
    });
    let caught: unknown;
    const { flowRunId } = await inFlow(async () => {
      caught = await rejectionOf(bad());
    });
    expect(caught).toBeInstanceOf(TaskRunError);
    const err = caught as TaskRunError;
    expect(err.state).toMatchObject({ type: "FAILED", name: "Failed", message: "nope 2" });
    expect((err.cause as Error).message).toBe("nope 2");
    expect(err.taskRunId).toBe(env.tracker.taskRunsOf(flowRunId)[0]?.record.id);
    expect(env.tracker.stateNames(err.taskRunId)).toEqual(namesAfterRetries(1, "Failed"));
  });

  it("waits the configured delays between attempts", async () => {
    const times: number[] = [];
    const t = task({ name: "delays", retries: 3, retryDelaySeconds: [0.02, 0.05, 0.01] }, async () => {
      times.push(performance.now());
      if (times.length < 4) throw new Error("again");
    });
    await inFlow(() => t());
    const gaps = times.slice(1).map((at, i) => at - times[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(48);
    expect(gaps[2]).toBeGreaterThanOrEqual(8);
    expect(gaps[1]).toBeGreaterThan(gaps[2]!);
  });

  it("uses exponential backoff", async () => {
    const times: number[] = [];
    const t = task({ name: "backoff", retries: 2, retryDelaySeconds: exponentialBackoff(0.02) }, async () => {
      times.push(performance.now());
      if (times.length < 3) throw new Error("again");
    });
    await inFlow(() => t());
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(18);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(38);
  });

  it("keeps jittered delays within the jitter bounds", async () => {
    const t = task({ name: "jitter", retries: 5, retryDelaySeconds: 0.1, retryJitterFactor: 0.5 }, async () => {
      if ((getRunContext().taskRun?.runCount ?? 0) <= 5) throw new Error("again");
    });
    const { flowRunId } = await inFlow(() => t());
    const states = env.tracker.taskRunsOf(flowRunId)[0]!.states;
    const delays = states
      .filter((s) => s.name === "AwaitingRetry")
      .map((s) => Date.parse(s.details.scheduledTime!) - Date.parse(s.timestamp));
    expect(delays).toHaveLength(5);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(49);
      expect(d).toBeLessThanOrEqual(151);
    }
  });

  it("stops retrying when retryCondition says no, and marks the failure noRetry", async () => {
    let calls = 0;
    const seen: unknown[] = [];
    const t = task(
      {
        name: "conditional",
        retries: 5,
        retryCondition: async (err) => {
          seen.push(err);
          return !(err instanceof RangeError);
        },
      },
      async () => {
        calls++;
        throw calls === 1 ? new Error("transient") : new RangeError("permanent");
      },
    );
    let caught: unknown;
    await inFlow(async () => {
      caught = await rejectionOf(t());
    });
    expect(calls).toBe(2);
    expect(seen.map((e) => (e as Error).message)).toEqual(["transient", "permanent"]);
    const err = caught as TaskRunError;
    expect(err.state.details).toMatchObject({ noRetry: true });
    expect(env.tracker.stateNames(err.taskRunId)).toEqual(namesAfterRetries(1, "Failed"));
  });

  it("does not consult retryCondition when no retries are configured", async () => {
    let consulted = false;
    const t = task({ name: "no_retries", retryCondition: () => (consulted = true) }, async () => {
      throw new Error("x");
    });
    await rejectionOf(inFlow(() => t()));
    expect(consulted).toBe(false);
  });
});

describe("task timeouts", () => {
  it("fails the run as TimedOut, aborts its signal and throws TimeoutError", async () => {
    let signalReason: unknown;
    const slow = task({ name: "slow", timeoutSeconds: 0.02 }, async () => {
      const { signal } = getRunContext();
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      signalReason = signal.reason;
      return "late";
    });
    let caught: unknown;
    await inFlow(async () => {
      caught = await rejectionOf(slow());
    });
    expect(caught).toBeInstanceOf(TimeoutError);
    const err = caught as TimeoutError;
    expect(err).toMatchObject({ runKind: "task", timeoutSeconds: 0.02 });
    expect(err.state).toMatchObject({ type: "FAILED", name: "TimedOut" });
    expect(signalReason).toBe(err);
    expect(env.tracker.stateNames(err.runId)).toEqual(["Pending", "Running", "TimedOut"]);
  });

  it("retries a timed-out attempt with a fresh timeout", async () => {
    const t = task({ name: "slow_then_fast", timeoutSeconds: 0.03, retries: 1 }, async () => {
      if (getRunContext().attempt === 1) await new Promise((r) => setTimeout(r, 200));
      return "ok";
    });
    const { flowRunId, value } = await inFlow(() => t());
    expect(value).toBe("ok");
    const id = env.tracker.taskRunsOf(flowRunId)[0]!.record.id;
    expect(env.tracker.stateNames(id)).toEqual(namesAfterRetries(1, "Completed"));
  });

  it("does not time out a task that finishes in time", async () => {
    const t = task({ name: "quick", timeoutSeconds: 1 }, async () => "fine");
    expect((await inFlow(() => t())).value).toBe("fine");
  });
});

describe("submit and futures", () => {
  it("returns a future with the task run id, live state, result and final state", async () => {
    const t = task({ name: "later" }, async (x: number) => {
      await new Promise((r) => setTimeout(r, 10));
      return x + 1;
    });
    const { flowRunId, value } = await inFlow(async () => {
      const f = t.submit(1);
      const early = f.state.type;
      const result = await f.result();
      const final = await f.wait();
      return { id: f.id, early, result, final };
    });
    expect(["PENDING", "RUNNING"]).toContain(value.early);
    expect(value.result).toBe(2);
    expect(value.final).toMatchObject({ type: "COMPLETED" });
    expect(env.tracker.taskRunsOf(flowRunId)[0]?.record.id).toBe(value.id);
  });

  it("rejects result() with TaskRunError and resolves wait() with the FAILED state", async () => {
    const t = task({ name: "submit_fail" }, async () => {
      throw new Error("bad");
    });
    const { value } = await inFlow(async () => {
      const f = t.submit();
      return { err: await rejectionOf(f.result()), state: await f.wait() };
    });
    expect(value.err).toBeInstanceOf(TaskRunError);
    expect(value.state).toMatchObject({ type: "FAILED", message: "bad" });
  });

  it("lets the flow finish its submitted runs before completing, and ignores unawaited failures", async () => {
    const done: string[] = [];
    const t = task({ name: "background" }, async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      done.push(`${ms}`);
      if (ms === 5) throw new Error("nobody looks");
    });
    const { flowRunId } = await inFlow(async () => {
      t.submit(30);
      t.submit(5);
    });
    expect(done.sort()).toEqual(["30", "5"]);
    const flowStates = env.tracker.stateNames(flowRunId);
    expect(flowStates.at(-1)).toBe("Completed");
    const last = env.tracker.flowRun(flowRunId).states.at(-1)!;
    for (const run of env.tracker.taskRunsOf(flowRunId)) {
      expect(Date.parse(run.states.at(-1)!.timestamp)).toBeLessThanOrEqual(Date.parse(last.timestamp));
    }
  });
});

describe("map", () => {
  it("runs one task run per item and returns values in item order", async () => {
    const t = task({ name: "square" }, async (x: number) => {
      await new Promise((r) => setTimeout(r, (5 - x) * 3));
      return x * x;
    });
    const { flowRunId, value } = await inFlow(() => t.map([1, 2, 3, 4]));
    expect(value).toEqual([1, 4, 9, 16]);
    expect(env.tracker.taskRunsOf(flowRunId)).toHaveLength(4);
  });

  it("accepts any iterable", async () => {
    const t = task({ name: "upper" }, (s: string) => s.toUpperCase());
    const { value } = await inFlow(() => t.map(new Set(["a", "b"])));
    expect(value).toEqual(["A", "B"]);
  });

  it("honours the concurrency limit", async () => {
    let inFlight = 0;
    let peak = 0;
    const t = task({ name: "limited" }, async (x: number) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return x;
    });
    const { value } = await inFlow(() => t.map([1, 2, 3, 4, 5, 6, 7], { concurrency: 2 }));
    expect(value).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(2);
  });

  it("maps tuples over multi-argument tasks with mapArgs", async () => {
    const add = task({ name: "add" }, (a: number, b: number) => a + b);
    const { value } = await inFlow(() =>
      add.mapArgs([
        [1, 2],
        [3, 4],
      ]),
    );
    expect(value).toEqual([3, 7]);
  });

  it("runs every item despite a failure under a concurrency limit, then throws the first error (regression)", async () => {
    const started: number[] = [];
    const t = task({ name: "map_fail" }, async (x: number) => {
      started.push(x);
      await new Promise((r) => setTimeout(r, 5 + x));
      if (x === 2 || x === 4) throw new Error(`bad ${x}`);
      return x;
    });
    let caught: unknown;
    const { flowRunId } = await inFlow(async () => {
      caught = await rejectionOf(t.map([1, 2, 3, 4, 5], { concurrency: 2 }));
    });
    expect(caught).toBeInstanceOf(TaskRunError);
    expect((caught as TaskRunError).cause).toEqual(new Error("bad 2"));
    expect(started.sort()).toEqual([1, 2, 3, 4, 5]);
    const finals = env.tracker.taskRunsOf(flowRunId).map((r) => r.states.at(-1)?.type);
    expect(finals).toEqual(["COMPLETED", "FAILED", "COMPLETED", "FAILED", "COMPLETED"]);
  });

  it("settles every item before throwing, so the flow sees all results recorded", async () => {
    const t = task({ name: "map_slow_ok" }, async (x: number) => {
      if (x === 0) throw new Error("fast failure");
      await new Promise((r) => setTimeout(r, 30));
      return x;
    });
    let settledAtThrow: (string | undefined)[] = [];
    const { flowRunId } = await inFlow(async () => {
      const flowRunId = getRunContext().flowRun.id;
      await rejectionOf(t.map([0, 1, 2]));
      settledAtThrow = env.tracker.taskRunsOf(flowRunId).map((r) => r.states.at(-1)?.type);
    });
    expect(settledAtThrow).toEqual(["FAILED", "COMPLETED", "COMPLETED"]);
    expect(env.tracker.taskRunsOf(flowRunId)).toHaveLength(3);
  });

  it("with failFast starts no new items after a failure and throws at once", async () => {
    const started: number[] = [];
    const t = task({ name: "map_fail_fast" }, async (x: number) => {
      started.push(x);
      await new Promise((r) => setTimeout(r, x === 2 ? 5 : 40));
      if (x === 2) throw new Error("two");
      return x;
    });
    let caught: unknown;
    let elapsedMs = 0;
    const { flowRunId } = await inFlow(async () => {
      const t0 = Date.now();
      caught = await rejectionOf(t.map([1, 2, 3, 4, 5], { concurrency: 2, failFast: true }));
      elapsedMs = Date.now() - t0;
    });
    expect(caught).toBeInstanceOf(TaskRunError);
    expect(started).toEqual([1, 2]);
    // Item 1 was still running (40 ms) when the failure of item 2 (5 ms) surfaced.
    expect(elapsedMs).toBeLessThan(35);
    // The flow run still waited for the started item before finishing.
    expect(env.tracker.taskRunsOf(flowRunId).map((r) => r.states.at(-1)?.type)).toEqual(["COMPLETED", "FAILED"]);
  });

  it("rejects a bad concurrency value", async () => {
    const t = task({ name: "conc" }, (x: number) => x);
    await expect(inFlow(() => t.map([1], { concurrency: 0 }))).rejects.toThrow(/concurrency/);
  });
});

describe("tasks outside a flow", () => {
  it("are task runs with their retries, in an implicit flow run named after the task (regression)", async () => {
    let calls = 0;
    const flaky = task({ name: "standalone_flaky", retries: 3, tags: ["solo"] }, async (x: number) => {
      if (++calls < 4) throw new Error(`attempt ${calls}`);
      return x + 1;
    });
    expect(await flaky(1)).toBe(2);
    expect(calls).toBe(4);
    const [run] = env.tracker.flowRunsNamed("task:standalone_flaky");
    expect(run?.state.type).toBe("COMPLETED");
    const [taskRun] = env.tracker.taskRunsOf(run!.info.id);
    expect(taskRun?.record).toMatchObject({ name: "standalone_flaky-0", tags: ["solo"] });
    expect(env.tracker.stateNames(taskRun!.record.id)).toEqual(namesAfterRetries(3, "Completed"));
  });

  it("have a run context and keep their timeout", async () => {
    const slow = task({ name: "standalone_slow", timeoutSeconds: 0.02 }, async () => {
      const ctx = getRunContext();
      expect(ctx.taskRun?.name).toBe("standalone_slow-0");
      await new Promise((r) => setTimeout(r, 200));
    });
    const err = await rejectionOf(slow());
    expect(err).toBeInstanceOf(TimeoutError);
    expect(env.tracker.flowRunsNamed("task:standalone_slow")[0]?.state.type).toBe("FAILED");
  });

  it("throw the task's TaskRunError (cause: the function's error), not the implicit flow's", async () => {
    const t = task({ name: "plain_fail" }, async () => {
      throw new SyntaxError("raw");
    });
    const err = await rejectionOf(t());
    expect(err).toBeInstanceOf(TaskRunError);
    expect((err as TaskRunError).cause).toBeInstanceOf(SyntaxError);
  });

  it("submit and map outside a flow run as task runs too", async () => {
    const t = task({ name: "plain" }, async (x: number) => x + 1);
    expect(await t.map([1, 2])).toEqual([2, 3]);
    const f = t.submit(5);
    expect(await f.result()).toBe(6);
    expect(f.state.type).toBe("COMPLETED");
    expect(env.tracker.flowRunsNamed("task:plain")).toHaveLength(3);
    expect(env.tracker.taskRuns.every((r) => r.states.at(-1)?.type === "COMPLETED")).toBe(true);
  });
});

describe("withOptions", () => {
  it("keeps the task key and overrides options", async () => {
    let calls = 0;
    const base = task({ name: "base_task" }, async () => {
      if (++calls < 2) throw new Error("once");
      return calls;
    });
    const retried = base.withOptions({ retries: 1 });
    expect(retried.taskKey).toBe(base.taskKey);
    expect((await inFlow(() => retried())).value).toBe(2);
  });
});

describe("option checks", () => {
  it("rejects bad options when the task is defined", () => {
    expect(() => task({ name: "" }, () => 1)).toThrow(/name/);
    expect(() => task({ name: "x", retries: -1 }, () => 1)).toThrow(/retries/);
    expect(() => task({ name: "x", timeoutSeconds: 0 }, () => 1)).toThrow(/timeoutSeconds/);
    expect(() => task({ name: "x", retryDelaySeconds: [1, -1] }, () => 1)).toThrow(/retryDelaySeconds/);
  });
});
