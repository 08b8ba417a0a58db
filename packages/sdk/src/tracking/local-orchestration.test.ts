import { describe, expect, it } from "vitest";
import { LocalFlowRunBook } from "./local-orchestration.ts";
import type { FlowRunStart } from "./tracker.ts";

const start = (retries = 0, extra: Partial<FlowRunStart> = {}): FlowRunStart => ({
  flowName: "f",
  parameters: {},
  tags: [],
  retryPolicy: { retries, retryDelaySeconds: 10 },
  ...extra,
});

describe("LocalFlowRunBook", () => {
  it("creates runs in PENDING with a generated id and name", () => {
    const book = new LocalFlowRunBook();
    const run = book.start(start());
    expect(run.state.type).toBe("PENDING");
    expect(run.info).toMatchObject({ runCount: 0, scheduledTime: null });
    expect(run.info.name).toMatch(/^[a-z]+-[a-z]+$/);
  });

  it("reuses an existing run when started again with its id", () => {
    const book = new LocalFlowRunBook();
    const run = book.start(start());
    expect(book.start(start(0, { flowRunId: run.info.id }))).toBe(run);
  });

  it("counts accepted RUNNING states as runs", () => {
    const book = new LocalFlowRunBook();
    const { info } = book.start(start());
    expect(book.propose(info.id, { type: "RUNNING" }).status).toBe("ACCEPT");
    expect(book.runs.get(info.id)?.info.runCount).toBe(1);
  });

  it("answers FAILED with retries left by REJECT → AwaitingRetry at now + delay", () => {
    const book = new LocalFlowRunBook();
    const { info } = book.start(start(1));
    book.propose(info.id, { type: "RUNNING" });
    const before = Date.now();
    const answer = book.propose(info.id, { type: "FAILED", message: "boom" });
    expect(answer.status).toBe("REJECT");
    if (answer.status !== "REJECT") return;
    expect(answer.state).toMatchObject({
      type: "SCHEDULED",
      name: "AwaitingRetry",
      message: "Retry 1 of 1 after FAILED: boom",
    });
    const at = Date.parse(answer.state.details.scheduledTime!);
    expect(at).toBeGreaterThanOrEqual(before + 10_000);
    const run = book.runs.get(info.id)!;
    expect(run.nextScheduledTime?.getTime()).toBe(at);
    expect(run.state.name).toBe("AwaitingRetry");
    expect(book.propose(info.id, { type: "RUNNING", name: "Retrying" }).status).toBe("WAIT");
  });

  it("accepts FAILED when retries are used up or noRetry is set", () => {
    const book = new LocalFlowRunBook();
    const a = book.start(start(0)).info;
    book.propose(a.id, { type: "RUNNING" });
    expect(book.propose(a.id, { type: "FAILED" }).status).toBe("ACCEPT");
    const b = book.start(start(3)).info;
    book.propose(b.id, { type: "RUNNING" });
    expect(book.propose(b.id, { type: "FAILED", details: { noRetry: true } as never }).status).toBe("ACCEPT");
  });

  it("aborts RUNNING for a finished run", () => {
    const book = new LocalFlowRunBook();
    const { info } = book.start(start());
    book.propose(info.id, { type: "RUNNING" });
    book.propose(info.id, { type: "COMPLETED" });
    expect(book.propose(info.id, { type: "RUNNING" }).status).toBe("ABORT");
    expect(book.runs.get(info.id)?.states.map((s) => s.type)).toEqual(["PENDING", "RUNNING", "COMPLETED"]);
  });

  it("does not store a REJECT that keeps the current state", () => {
    const book = new LocalFlowRunBook();
    const { info } = book.start(start());
    book.propose(info.id, { type: "RUNNING" });
    expect(book.propose(info.id, { type: "RUNNING" }).status).toBe("REJECT");
    const run = book.runs.get(info.id)!;
    expect(run.states.map((s) => s.type)).toEqual(["PENDING", "RUNNING"]);
    expect(run.info.runCount).toBe(1);
  });

  it("lets an override answer instead of the rules and stores what it answers", () => {
    const book = new LocalFlowRunBook();
    const { info } = book.start(start());
    const answer = book.propose(info.id, { type: "RUNNING" }, () => ({
      status: "WAIT",
      delaySeconds: 1,
      reason: "test",
    }));
    expect(answer.status).toBe("WAIT");
    expect(book.runs.get(info.id)?.states).toHaveLength(1);
  });

  it("treats a repeated transitionId as a no-op", () => {
    const book = new LocalFlowRunBook();
    const { info } = book.start(start());
    book.propose(info.id, { type: "RUNNING", transitionId: "t1" });
    book.propose(info.id, { type: "RUNNING", transitionId: "t1" });
    expect(book.runs.get(info.id)?.states.map((s) => s.type)).toEqual(["PENDING", "RUNNING"]);
  });

  it("aborts proposals for unknown runs", () => {
    expect(new LocalFlowRunBook().propose("nope", { type: "RUNNING" }).status).toBe("ABORT");
  });
});
