// State hooks on flows and tasks: when each runs, what it sees, and that a failing hook is logged
// on the run without changing its state.
import { describe, expect, it } from "vitest";
import { StateNames } from "@flowplane/core";
import { getRunContext, getRunLogger } from "./context.ts";
import { AbortedRunError, FlowRunError } from "./errors.ts";
import { flow } from "./flow.ts";
import { stopActiveFlowRuns } from "./engine/run-flow.ts";
import type { HookEvent } from "./options.ts";
import { task } from "./task.ts";
import { rejectionOf, useTestEnv } from "./test-support.ts";

const env = useTestEnv();

function recorder() {
  const events: string[] = [];
  const hook = (label: string) => (event: HookEvent) => {
    events.push(`${label}:${event.kind}:${event.name}:${event.state.name}`);
  };
  return { events, hook };
}

describe("task hooks", () => {
  it("run onRunning on every attempt and onCompletion once, in the task run's context", async () => {
    const { events, hook } = recorder();
    let calls = 0;
    let hookTaskRunId: string | undefined;
    const flaky = task(
      {
        name: "hooked_task",
        retries: 1,
        onRunning: hook("running"),
        onCompletion: [
          hook("completed"),
          () => {
            hookTaskRunId = getRunContext().taskRun?.id;
            getRunLogger().info("completion hook says hi");
          },
        ],
        onFailure: hook("failed"),
      },
      () => {
        if (++calls === 1) throw new Error("first attempt");
        return calls;
      },
    );
    await flow({ name: "hooks_host" }, () => flaky())();
    expect(events).toEqual([
      "running:task:hooked_task:Running",
      "running:task:hooked_task:Retrying",
      "completed:task:hooked_task:Completed",
    ]);
    const [run] = env.tracker.taskRuns;
    expect(hookTaskRunId).toBe(run?.record.id);
    expect(env.tracker.logsOf(run!.record.id).map((l) => l.message)).toContain("completion hook says hi");
  });

  it("run onFailure once retries are exhausted, with the error", async () => {
    const errors: unknown[] = [];
    const t = task({ name: "fails_hooked", retries: 2, onFailure: (e) => void errors.push(e.error) }, () => {
      throw new Error("always");
    });
    await rejectionOf(flow({ name: "failure_host" }, () => t())());
    expect(errors).toEqual([new Error("always")]);
  });

  it("run onCompletion on a cache hit", async () => {
    const { events, hook } = recorder();
    const t = task({ name: "cached_hooked", cacheKey: () => "fixed", onCompletion: hook("completed") }, () => 1);
    const f = flow({ name: "cache_host" }, () => t());
    await f();
    await f();
    expect(events).toEqual(["completed:task:cached_hooked:Completed", "completed:task:cached_hooked:Cached"]);
  });

  it("log a hook's error on the run and leave its state and value alone", async () => {
    const t = task(
      {
        name: "bad_hook",
        onCompletion: () => {
          throw new Error("hook broke");
        },
        onRunning: async () => Promise.reject(new Error("async hook broke")),
      },
      () => "value",
    );
    expect(await flow({ name: "bad_hook_host" }, () => t())()).toBe("value");
    const [run] = env.tracker.taskRuns;
    expect(run?.states.at(-1)?.type).toBe("COMPLETED");
    const errors = env.tracker.logsOf(run!.record.id).filter((l) => l.level === 40);
    expect(errors.map((l) => l.message)).toEqual([
      expect.stringMatching(/^onRunning hook .* failed: Error: async hook broke/),
      expect.stringMatching(/^onCompletion hook .* failed: Error: hook broke/),
    ]);
  });
});

describe("flow hooks", () => {
  it("run onRunning then onCompletion for a completed flow", async () => {
    const { events, hook } = recorder();
    await flow({ name: "hooked_flow", onRunning: hook("running"), onCompletion: hook("completed") }, () => 1)();
    expect(events).toEqual(["running:flow:hooked_flow:Running", "completed:flow:hooked_flow:Completed"]);
  });

  it("run onFailure only for the final failure, not for attempts that will be retried", async () => {
    const { events, hook } = recorder();
    const f = flow(
      { name: "hooked_failing_flow", retries: 1, onRunning: hook("running"), onFailure: hook("failed") },
      () => {
        throw new Error("nope");
      },
    );
    expect(await rejectionOf(f())).toBeInstanceOf(FlowRunError);
    expect(events).toEqual([
      "running:flow:hooked_failing_flow:Running",
      "running:flow:hooked_failing_flow:Retrying",
      "failed:flow:hooked_failing_flow:Failed",
    ]);
  });

  it("log a failing hook on the flow run without failing it", async () => {
    let flowRunId = "";
    const f = flow(
      {
        name: "flow_bad_hook",
        onCompletion: () => {
          throw new Error("flow hook broke");
        },
      },
      () => {
        flowRunId = getRunContext().flowRun.id;
        return 2;
      },
    );
    expect(await f()).toBe(2);
    expect(env.tracker.flowRun(flowRunId).state.type).toBe("COMPLETED");
    expect(env.tracker.logsOf(flowRunId).map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^onCompletion hook .* failed: Error: flow hook broke/),
    );
  });

  it("run onCancellation when the orchestrator answers that the run was cancelled", async () => {
    const { events, hook } = recorder();
    env.useTracker({
      decide: (run, proposed) =>
        proposed.type === "RUNNING"
          ? {
              status: "REJECT",
              reason: "cancelled while pending",
              state: {
                type: "CANCELLED",
                name: StateNames.Cancelled,
                timestamp: new Date().toISOString(),
                details: {},
              },
            }
          : undefined,
    });
    const f = flow({ name: "cancelled_flow", onCancellation: hook("cancelled") }, () => 1);
    expect(await rejectionOf(f())).toBeInstanceOf(AbortedRunError);
    expect(events).toEqual(["cancelled:flow:cancelled_flow:Cancelled"]);
  });

  it("run onCancellation for the flow and its running tasks when the process is told to stop", async () => {
    const { events, hook } = recorder();
    let release: () => void = () => undefined;
    const blocked = task(
      { name: "blocked_task", onCancellation: hook("cancelled"), onCrashed: hook("crashed") },
      () =>
        new Promise<void>((done) => {
          release = done;
        }),
    );
    const finished = task({ name: "finished_task", onCancellation: hook("cancelled") }, () => 1);
    const f = flow(
      { name: "stopped_flow", onCancellation: hook("cancelled"), onCrashed: hook("crashed") },
      async () => {
        await finished();
        await blocked();
      },
    );
    const running = f();
    await expect.poll(() => env.tracker.taskRuns.length).toBe(2);
    await stopActiveFlowRuns("cancelled", "stopped by the worker");
    // A run that was stopped once is not stopped again.
    await stopActiveFlowRuns("crashed", "again");
    release();
    await running;
    expect(events).toEqual(["cancelled:task:blocked_task:Cancelled", "cancelled:flow:stopped_flow:Cancelled"]);
  });

  it("run onCrashed when the process is stopped without a cancel request", async () => {
    const { events, hook } = recorder();
    let release: () => void = () => undefined;
    const f = flow(
      { name: "crashed_flow", onCrashed: hook("crashed") },
      () =>
        new Promise<void>((done) => {
          release = done;
        }),
    );
    const running = f();
    await expect.poll(() => env.tracker.flowRunsNamed("crashed_flow")[0]?.state.type).toBe("RUNNING");
    await stopActiveFlowRuns("crashed", "the run's process was stopped (SIGTERM)");
    release();
    await running;
    expect(events).toEqual(["crashed:flow:crashed_flow:Crashed"]);
  });

  it("do not count a slow onRunning hook against the attempt's timeout", async () => {
    const slowHook = () => new Promise((r) => setTimeout(r, 80));
    const quick = task({ name: "quick_task", timeoutSeconds: 0.04, onRunning: slowHook }, () => "task done");
    expect(await flow({ name: "hosts_quick_task" }, () => quick())()).toBe("task done");
    expect(await flow({ name: "quick_flow", timeoutSeconds: 0.04, onRunning: slowHook }, () => "flow done")()).toBe(
      "flow done",
    );
  });

  it("are checked when the flow is defined", () => {
    expect(() => flow({ name: "bad_hooks", onFailure: ["nope" as unknown as () => void] }, () => 1)).toThrow(
      /onFailure must be a function or a list of functions/,
    );
  });
});
