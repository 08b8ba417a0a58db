import { describe, expect, it } from "vitest";
import { z } from "zod";
import { StateNames } from "@flowplane/core";
import { getRunContext } from "./context.ts";
import { toState } from "./tracking/local-orchestration.ts";
import { AbortedRunError, FlowRunError, ParameterValidationError, TaskRunError, TimeoutError } from "./errors.ts";
import { flow, runFlowWith } from "./flow.ts";
import { withTags } from "./tags.ts";
import { argsFromParameters, parametersFromArgs } from "./engine/run-flow.ts";
import { task } from "./task.ts";
import { failsFirst, namesAfterRetries, recordingBody, rejectionOf, throwing, useTestEnv } from "./test-support.ts";

const env = useTestEnv();

describe("flow runs", () => {
  it("starts a flow run, goes Pending → Running → Completed and returns the value", async () => {
    const f = flow({ name: "simple", tags: ["t1"], version: "1.2" }, async (a: number, b: string) => `${b}${a}`);
    expect(await f(1, "x")).toBe("x1");
    const [run] = env.tracker.flowRuns;
    expect(run?.start).toMatchObject({
      flowName: "simple",
      tags: ["t1"],
      flowVersion: "1.2",
      parameters: { "0": 1, "1": "x" },
    });
    expect(env.tracker.stateNames(run!.info.id)).toEqual(["Pending", "Running", "Completed"]);
    expect(env.tracker.flushes).toBe(1);
  });

  it("records a single object argument as the parameters", async () => {
    const f = flow({ name: "params" }, async (_p: { day: string }) => getRunContext().parameters);
    expect(await f({ day: "2024-05-01" })).toEqual({ day: "2024-05-01" });
    expect(env.tracker.flowRuns[0]?.start.parameters).toEqual({ day: "2024-05-01" });
  });

  it("exposes the flow run in the context", async () => {
    const f = flow({ name: "ctx_flow" }, async () => {
      const ctx = getRunContext();
      return { flowRun: ctx.flowRun, taskRun: ctx.taskRun, attempt: ctx.attempt, aborted: ctx.signal.aborted };
    });
    const out = await f();
    expect(out.flowRun).toMatchObject({ id: env.tracker.flowRuns[0]?.info.id, runCount: 1, scheduledTime: null });
    expect(out.taskRun).toBeUndefined();
    expect(out.attempt).toBe(1);
    expect(out.aborted).toBe(false);
  });

  it("fails with FlowRunError carrying the final state and cause", async () => {
    const f = flow({ name: "failing" }, async () => {
      throw new Error("kaput");
    });
    const err = (await rejectionOf(f())) as FlowRunError;
    expect(err).toBeInstanceOf(FlowRunError);
    expect(err.state).toMatchObject({ type: "FAILED", message: "kaput" });
    expect((err.cause as Error).message).toBe("kaput");
    expect(err.flowName).toBe("failing");
    expect(env.tracker.stateNames(err.flowRunId)).toEqual(["Pending", "Running", "Failed"]);
    expect(env.tracker.flushes).toBe(1);
  });

  it("propagates a task failure as the flow's cause", async () => {
    const t = task({ name: "inner_fail" }, async () => {
      throw new Error("deep");
    });
    const f = flow({ name: "outer" }, async () => t());
    const err = (await rejectionOf(f())) as FlowRunError;
    expect(err.cause).toBeInstanceOf(TaskRunError);
    expect(err.state.message).toBe("Task run 'inner_fail-0' failed: deep");
  });
});

describe("flow retries (decided by the orchestrator)", () => {
  it("retries after REJECT → AwaitingRetry and proposes Retrying", async () => {
    const f = flow(
      { name: "flow_retry", retries: 2, retryDelaySeconds: 0.01 },
      failsFirst(2, "attempt", () => getRunContext().flowRun.runCount),
    );
    expect(await f()).toBe(3);
    const id = env.tracker.flowRuns[0]!.info.id;
    expect(env.tracker.stateNames(id)).toEqual(namesAfterRetries(2, "Completed"));
    const failedProposals = env.tracker.proposals.filter((p) => p.proposed.type === "FAILED");
    expect(failedProposals.map((p) => p.result.status)).toEqual(["REJECT", "REJECT"]);
  });

  it("keeps dynamic keys unique across in-process flow retries", async () => {
    const t = task({ name: "step" }, () => 1);
    let calls = 0;
    const f = flow({ name: "retry_keys", retries: 1 }, async () => {
      await t();
      if (++calls === 1) throw new Error("first");
    });
    await f();
    const keys = env.tracker.taskRuns.map((r) => r.record.dynamicKey);
    expect(keys).toEqual(["0", "1"]);
  });

  it("runs again exactly when the orchestrator says", async () => {
    const retryAt = Date.now() + 80;
    const tracker = env.useTracker({
      decide: (run, proposed) =>
        proposed.type === "FAILED" && run.info.runCount === 1
          ? {
              status: "REJECT",
              reason: "retry",
              state: toState({
                type: "SCHEDULED",
                name: StateNames.AwaitingRetry,
                details: { scheduledTime: new Date(retryAt).toISOString() },
              }),
            }
          : undefined,
    });
    const starts: number[] = [];
    const f = flow({ name: "server_retry" }, async () => {
      starts.push(Date.now());
      if (starts.length === 1) throw new Error("once");
      return "ok";
    });
    expect(await f()).toBe("ok");
    expect(starts[1]).toBeGreaterThanOrEqual(retryAt - 2);
    expect(tracker.stateNames(tracker.flowRuns[0]!.info.id)).toEqual(namesAfterRetries(1, "Completed"));
  });

  it("sends noRetry when retryCondition refuses, and the orchestrator does not retry", async () => {
    let calls = 0;
    const f = flow(
      { name: "flow_condition", retries: 3, retryCondition: (e) => !(e instanceof TypeError) },
      async () => {
        calls++;
        throw new TypeError("fatal");
      },
    );
    const err = (await rejectionOf(f())) as FlowRunError;
    expect(calls).toBe(1);
    expect(err.state.details).toMatchObject({ noRetry: true });
    expect(env.tracker.proposals.find((p) => p.proposed.type === "FAILED")?.proposed.details).toMatchObject({
      noRetry: true,
    });
  });

  it("ends FAILED once retries are exhausted", async () => {
    const f = flow({ name: "exhausted", retries: 1 }, async () => {
      throw new Error(`try ${getRunContext().attempt}`);
    });
    const err = (await rejectionOf(f())) as FlowRunError;
    expect(err.state).toMatchObject({ type: "FAILED", message: "try 2" });
    expect(env.tracker.stateNames(err.flowRunId)).toEqual(namesAfterRetries(1, "Failed"));
  });
});

describe("flow timeouts", () => {
  it("fails the run as TimedOut and throws TimeoutError", async () => {
    let sawAbort = false;
    const f = flow({ name: "slow_flow", timeoutSeconds: 0.03 }, async () => {
      const { signal } = getRunContext();
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      sawAbort = signal.reason instanceof TimeoutError;
    });
    const err = (await rejectionOf(f())) as TimeoutError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.runKind).toBe("flow");
    expect(err.state).toMatchObject({ type: "FAILED", name: "TimedOut" });
    expect(sawAbort).toBe(true);
    expect(env.tracker.stateNames(err.runId)).toEqual(["Pending", "Running", "TimedOut"]);
  });

  it("aborts the signal seen by tasks inside the flow, and starts no new tasks", async () => {
    let taskSignal: AbortSignal | undefined;
    const started: string[] = [];
    const inner = task({ name: "inner_wait" }, async () => {
      started.push("inner");
      taskSignal = getRunContext().signal;
      await new Promise((r) => setTimeout(r, 80));
    });
    const after = task({ name: "after" }, async () => started.push("after"));
    const f = flow({ name: "timeout_tree", timeoutSeconds: 0.02 }, async () => {
      await inner();
      await after();
    });
    await rejectionOf(f());
    expect(taskSignal?.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(started).toEqual(["inner"]);
  });

  it("retries a timed-out flow when retries remain", async () => {
    const f = flow({ name: "timeout_retry", timeoutSeconds: 0.03, retries: 1 }, async () => {
      if (getRunContext().attempt === 1) await new Promise((r) => setTimeout(r, 200));
      return "second";
    });
    expect(await f()).toBe("second");
  });
});

describe("parameter validation", () => {
  const schema = z.object({
    day: z.string(),
    limit: z.number().int().default(10),
    nested: z.object({ n: z.number() }).optional(),
  });

  it("records a FAILED flow run carrying the validation error, without running the flow (regression)", async () => {
    let ran = false;
    const f = flow({ name: "validated", parameters: schema, retries: 2 }, async () => {
      ran = true;
    });
    const err = (await rejectionOf(
      f({ day: "d", nested: { n: "x" as unknown as number } }),
    )) as ParameterValidationError;
    expect(err).toBeInstanceOf(ParameterValidationError);
    expect(err.issues.map((i) => i.path)).toEqual(["nested.n"]);
    expect(err.message).toContain("nested.n");
    expect(ran).toBe(false);
    const [run] = env.tracker.flowRunsNamed("validated");
    expect(err.flowRunId).toBe(run?.info.id);
    // FAILED for good: retries cannot fix the call's arguments.
    expect(run?.states.map((s) => s.type)).toEqual(["PENDING", "FAILED"]);
    expect(run?.state.message).toContain("nested.n");
    expect(run?.start.parameters).toEqual({ day: "d", nested: { n: "x" } });
  });

  it("refuses unknown parameter keys instead of dropping them (strict by default)", async () => {
    const f = flow({ name: "strict_params", parameters: z.object({ day: z.string() }) }, async (p) => p.day);
    const err = (await rejectionOf(f({ day: "d", dya: "typo" } as { day: string }))) as ParameterValidationError;
    expect(err).toBeInstanceOf(ParameterValidationError);
    expect(err.message).toContain("dya");
    expect(f.parameterJsonSchema()).toMatchObject({ additionalProperties: false });
    const loose = flow({ name: "loose_params", parameters: z.object({ day: z.string() }).loose() }, async (p) => p);
    expect(await loose({ day: "d", extra: 1 } as { day: string })).toEqual({ day: "d", extra: 1 });
  });

  it("passes the parsed parameters (defaults applied) to the flow and records them", async () => {
    const f = flow({ name: "validated_ok", parameters: schema }, async (p) => p.limit);
    expect(await f({ day: "2024-01-01" })).toBe(10);
    expect(env.tracker.flowRuns[0]?.start.parameters).toEqual({ day: "2024-01-01", limit: 10 });
  });

  it("runs a flow whose schema fields are all optional when called with no parameters (regression)", async () => {
    // The signature allows f(), and a deployment run without parameters arrives as an empty call.
    const f = flow(
      { name: "all_optional", parameters: z.object({ limit: z.number().default(5) }) },
      async (p) => p.limit,
    );
    expect(await f()).toBe(5);
    expect(env.tracker.flowRuns[0]?.start.parameters).toEqual({ limit: 5 });
  });

  it("records a FAILED sub-flow run and a FAILED stand-in task run for invalid sub-flow parameters", async () => {
    const child = flow({ name: "child_validated", parameters: z.object({ n: z.number() }) }, async ({ n }) => n);
    const parent = flow({ name: "parent_of_invalid" }, async () => rejectionOf(child({ n: "1" as unknown as number })));
    const err = await parent();
    expect(err).toBeInstanceOf(ParameterValidationError);
    const [childRun] = env.tracker.flowRunsNamed("child_validated");
    expect(childRun?.state.type).toBe("FAILED");
    expect(childRun?.state.message).toMatch(/Invalid parameters.*n:/);
    const [standIn] = env.tracker.taskRuns;
    expect(standIn?.record.isSubflow).toBe(true);
    expect(childRun?.start.parentTaskRunId).toBe(standIn?.record.id);
    expect(standIn?.states.at(-1)).toMatchObject({ type: "FAILED" });
    expect(standIn?.states.at(-1)?.message).toMatch(/Invalid parameters/);
  });

  it("publishes the parameters' JSON Schema", () => {
    const f = flow({ name: "schema_flow", parameters: schema }, async () => undefined);
    expect(f.parameterJsonSchema()).toMatchObject({
      type: "object",
      properties: { day: { type: "string" }, limit: { type: "integer", default: 10 } },
      required: ["day"],
    });
    expect(flow({ name: "no_schema" }, async () => 1).parameterJsonSchema()).toBeUndefined();
  });
});

describe("orchestrator answers to RUNNING", () => {
  it("honours WAIT by sleeping and proposing again", async () => {
    let waits = 0;
    const tracker = env.useTracker({
      decide: (_run, proposed) =>
        proposed.type === "RUNNING" && waits++ < 2
          ? { status: "WAIT", delaySeconds: 0.03, reason: "slow down" }
          : undefined,
    });
    const started = Date.now();
    const f = flow({ name: "waited" }, async () => Date.now() - started);
    expect(await f()).toBeGreaterThanOrEqual(55);
    const running = tracker.proposals.filter((p) => p.proposed.type === "RUNNING");
    expect(running.map((p) => p.result.status)).toEqual(["WAIT", "WAIT", "ACCEPT"]);
  });

  it("throws AbortedRunError on ABORT without running the function", async () => {
    env.useTracker({
      decide: (_run, proposed) =>
        proposed.type === "RUNNING" ? { status: "ABORT", reason: "already running elsewhere" } : undefined,
    });
    let ran = false;
    const f = flow({ name: "aborted" }, async () => {
      ran = true;
    });
    const err = (await rejectionOf(f())) as AbortedRunError;
    expect(err).toBeInstanceOf(AbortedRunError);
    expect(err.reason).toBe("already running elsewhere");
    expect(ran).toBe(false);
    expect(env.tracker.flushes).toBe(1);
  });

  it.each([
    {
      told: "another process already runs it",
      flowName: "duplicate_submission",
      reason: "The run is already RUNNING.",
      adopt: "RUNNING",
    },
    { told: "the run is already terminal", flowName: "adopt_cancelled", reason: "done", adopt: "CANCELLED" },
  ] as const)(
    "does not run and throws AbortedRunError when told $told (REJECT → $adopt)",
    async ({ flowName, reason, adopt }) => {
      env.useTracker({
        decide: (_run, proposed) =>
          proposed.type === "RUNNING" ? { status: "REJECT", reason, state: toState({ type: adopt }) } : undefined,
      });
      let ran = false;
      const err = (await rejectionOf(flow({ name: flowName }, async () => (ran = true))())) as AbortedRunError;
      expect(err).toBeInstanceOf(AbortedRunError);
      expect(err.state?.type).toBe(adopt);
      expect(ran).toBe(false);
    },
  );

  it("waits out a REJECT to a future SCHEDULED state, then runs", async () => {
    const startAt = Date.now() + 50;
    let first = true;
    env.useTracker({
      decide: (_run, proposed) => {
        if (proposed.type !== "RUNNING" || !first) return undefined;
        first = false;
        return {
          status: "REJECT",
          reason: "not yet",
          state: toState({ type: "SCHEDULED", details: { scheduledTime: new Date(startAt).toISOString() } }),
        };
      },
    });
    const ranAt = await flow({ name: "scheduled_later" }, async () => Date.now())();
    expect(ranAt).toBeGreaterThanOrEqual(startAt);
  });
});

describe("sub-flows", () => {
  it("records a sub-flow task run in the parent and links the child through parentTaskRunId", async () => {
    const child = flow({ name: "refresh_marts" }, async (n: number) => {
      const ctx = getRunContext();
      return { n, childRunId: ctx.flowRun.id };
    });
    const parent = flow({ name: "parent" }, async () => {
      const r = await child(5);
      return { ...r, parentRunId: getRunContext().flowRun.id };
    });
    const out = await parent();
    expect(out.n).toBe(5);
    const [standIn] = env.tracker.taskRunsOf(out.parentRunId);
    expect(standIn?.record).toMatchObject({ isSubflow: true, name: "refresh_marts-0", taskKey: "refresh_marts" });
    expect(env.tracker.stateNames(standIn!.record.id)).toEqual(["Pending", "Running", "Completed"]);
    const childRun = env.tracker.flowRun(out.childRunId);
    expect(childRun.start.parentTaskRunId).toBe(standIn!.record.id);
    expect(childRun.rootId).toBe(out.parentRunId);
    expect(env.tracker.flushes).toBe(1);
  });

  it("retries the sub-flow on its own policy while the parent runs once", async () => {
    let childCalls = 0;
    let parentCalls = 0;
    const child = flow({ name: "child_retry", retries: 2, retryDelaySeconds: 0.01 }, async () => {
      if (++childCalls < 3) throw new Error("child flake");
      return "child ok";
    });
    const parent = flow({ name: "parent_once" }, async () => {
      parentCalls++;
      return child();
    });
    expect(await parent()).toBe("child ok");
    expect(parentCalls).toBe(1);
    const childRun = env.tracker.flowRunsNamed("child_retry")[0]!;
    expect(env.tracker.stateNames(childRun.info.id)).toEqual(namesAfterRetries(2, "Completed"));
  });

  it("mirrors a failed sub-flow on its stand-in task run and surfaces FlowRunError to the parent", async () => {
    const child = flow({ name: "child_fail" }, async () => {
      throw new Error("child broke");
    });
    const parent = flow({ name: "parent_catches" }, async () => rejectionOf(child()));
    const err = (await parent()) as FlowRunError;
    expect(err).toBeInstanceOf(FlowRunError);
    const standIn = env.tracker.taskRuns.find((r) => r.record.isSubflow)!;
    expect(standIn.states.at(-1)).toMatchObject({ type: "FAILED", message: "child broke" });
  });

  it("gives each flow run its own task call counters", async () => {
    const t = task({ name: "counted" }, () => 1);
    const child = flow({ name: "counting_child" }, async () => {
      await t();
      await t();
    });
    const parent = flow({ name: "counting_parent" }, async () => {
      await t();
      await child();
      await t();
    });
    await parent();
    const parentRun = env.tracker.flowRunsNamed("counting_parent")[0]!;
    const childRun = env.tracker.flowRunsNamed("counting_child")[0]!;
    const keys = (id: string) =>
      env.tracker
        .taskRunsOf(id)
        .filter((r) => r.record.taskKey === "counted")
        .map((r) => r.record.dynamicKey);
    expect(keys(parentRun.info.id)).toEqual(["0", "1"]);
    expect(keys(childRun.info.id)).toEqual(["0", "1"]);
  });
});

describe("running an existing flow run", () => {
  it("uses the given flow run id", async () => {
    const f = flow({ name: "launched" }, async (p: { x: number }) => p.x);
    const id = "0190a000-0000-7000-8000-000000000001";
    expect(await runFlowWith(f, [{ x: 3 }], { flowRunId: id })).toBe(3);
    expect(env.tracker.flowRun(id).start.flowRunId).toBe(id);
  });

  it("ends a worker-launched run FAILED (no retry) when its stored parameters are invalid", async () => {
    const f = flow({ name: "launched_strict", retries: 3, parameters: z.object({ x: z.number() }) }, async (p) => p.x);
    const id = "0190a000-0000-7000-8000-000000000002";
    const err = await rejectionOf(runFlowWith(f, [{ x: "3" } as unknown as { x: number }], { flowRunId: id }));
    expect(err).toMatchObject({ code: "PARAMETER_VALIDATION", flowRunId: id });
    const run = env.tracker.flowRun(id);
    expect(run.state).toMatchObject({ type: "FAILED", details: { noRetry: true } });
    expect(run.state.message).toMatch(/^Invalid parameters for flow 'launched_strict': x: /);
  });

  it("maps parameters records to call arguments and back", () => {
    expect(argsFromParameters(parametersFromArgs([{ a: 1 }]))).toEqual([{ a: 1 }]);
    expect(argsFromParameters(parametersFromArgs([1, "b"]))).toEqual([1, "b"]);
    expect(argsFromParameters(parametersFromArgs([]))).toEqual([]);
    expect(parametersFromArgs([[1, 2]])).toEqual({ "0": [1, 2] });
  });
});

describe("option checks", () => {
  it("rejects bad flow options when the flow is defined", () => {
    expect(() => flow({ name: "x", retries: 1.5 }, async () => 1)).toThrow(/retries/);
    expect(() => flow({ name: "x", retryJitterFactor: -1 }, async () => 1)).toThrow(/retryJitterFactor/);
  });
});

describe("run names and tags", () => {
  it("names flow runs with flowRunName, a string or a function of the parsed parameters", async () => {
    await flow({ name: "named_static", flowRunName: "nightly" }, async () => 1)();
    const dynamic = flow(
      {
        name: "named_dynamic",
        flowRunName: (p) => `etl-${String(p.day)}-${String(p.limit)}`,
        parameters: z.object({ day: z.string(), limit: z.number().default(5) }),
      },
      async () => 1,
    );
    await dynamic({ day: "2024-05-01" });
    expect(env.tracker.flowRunsNamed("named_static")[0]?.info.name).toBe("nightly");
    expect(env.tracker.flowRunsNamed("named_dynamic")[0]?.info.name).toBe("etl-2024-05-01-5");
  });

  it("records a FAILED run when flowRunName throws, without running the flow", async () => {
    const recording = recordingBody();
    const f = flow({ name: "bad_name", flowRunName: throwing("no name today") }, recording.body);
    const err = (await rejectionOf(f())) as FlowRunError;
    expect(err).toBeInstanceOf(FlowRunError);
    expect(recording.ran).toBe(false);
    expect(env.tracker.flowRunsNamed("bad_name")[0]?.state.message).toBe("flowRunName failed: no name today");
  });

  it("tags every flow run and task run started inside withTags, nested scopes adding up", async () => {
    const t = task({ name: "tagged_task", tags: ["own"] }, async () => 1);
    const child = flow({ name: "tagged_child" }, async () => t());
    const parent = flow({ name: "tagged_parent", tags: ["parent"] }, async () => {
      await withTags(["inner"], () => child());
      return t();
    });
    await withTags(["outer"], () => parent());
    await t();
    expect(env.tracker.flowRunsNamed("tagged_parent")[0]?.start.tags).toEqual(["parent", "outer"]);
    expect(env.tracker.flowRunsNamed("tagged_child")[0]?.start.tags).toEqual(["outer", "inner"]);
    const taskTags = env.tracker.taskRuns.filter((r) => r.record.taskKey === "tagged_task").map((r) => r.record.tags);
    expect(taskTags).toEqual([["own", "outer", "inner"], ["own", "outer"], ["own"]]);
  });

  it("keeps concurrent withTags scopes apart", async () => {
    const t = task({ name: "scoped_task" }, async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    });
    const f = flow({ name: "scoped" }, async () =>
      Promise.all([withTags(["a"], () => t(10)), withTags(["b"], () => t(1))]),
    );
    await f();
    const tags = env.tracker.taskRuns.map((r) => [r.record.name, r.record.tags]);
    expect(tags).toEqual([
      ["scoped_task-0", ["a"]],
      ["scoped_task-1", ["b"]],
    ]);
  });
});
