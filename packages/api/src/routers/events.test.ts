// Live events through the events.subscribe procedure, fed by PostgreSQL LISTEN/NOTIFY: a
// subscriber gets its workspace's events (optionally one run's), and a subscription whose key is
// revoked stops receiving instead of streaming until the socket happens to close.
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { TRPCError } from "@trpc/server";
import { uuidv7 } from "@flowplane/core";
import type { FlowplaneEvent } from "../services/events.ts";
import { useTestApi } from "../testing.ts";

const api = useTestApi();

interface Subscription {
  events: FlowplaneEvent[];
  /** Resolves when the stream ends: null if it was closed by us, the error if it failed. */
  ended: Promise<unknown>;
  close(): void;
  waitFor(match: (e: FlowplaneEvent) => boolean, timeoutMs?: number): Promise<FlowplaneEvent | null>;
}

async function subscribe(
  credential: string,
  input?: { flowRunId?: string },
  controller = new AbortController(),
): Promise<Subscription> {
  const iterable = (await api
    .caller(credential, { signal: controller.signal })
    .events.subscribe(input)) as AsyncIterable<FlowplaneEvent>;
  const events: FlowplaneEvent[] = [];
  const ended = (async () => {
    try {
      for await (const e of iterable) events.push(e);
      return null;
    } catch (err) {
      return err;
    }
  })();
  return {
    events,
    ended,
    close: () => controller.abort(),
    async waitFor(match, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const hit = events.find(match);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 10));
      }
      return null;
    },
  };
}

describe("events.subscribe", () => {
  it("delivers state, task-run and log events of the caller's workspace", async () => {
    const sub = await subscribe(api.a.keys.READ);
    const run = await api.a.as.WORKER.flowRuns.create({ flowName: "live" });
    await api.a.as.WORKER.flowRuns.setState({ id: run.id, state: { type: "RUNNING" } });
    await api.a.as.WORKER.ingest.batch({
      logs: [
        { id: uuidv7(), flowRunId: run.id, name: "x", level: 20, message: "hi", timestamp: new Date().toISOString() },
      ],
    });
    expect(
      await sub.waitFor((e) => e.kind === "flow_run" && e.flowRunId === run.id && e.stateType === "RUNNING"),
    ).not.toBeNull();
    expect(await sub.waitFor((e) => e.kind === "logs" && e.flowRunIds.includes(run.id))).not.toBeNull();
    sub.close();
    expect(await sub.ended).toBeNull();
  });

  it("delivers every event of a large batch, packed several to a notification", async () => {
    const runs = await Promise.all(
      Array.from({ length: 150 }, () => api.a.as.WORKER.flowRuns.create({ flowName: "live-batch" })),
    );
    const sub = await subscribe(api.a.keys.READ);
    await api.a.as.WORKER.flowRuns.setStates({
      proposals: runs.map((r) => ({ id: r.id, state: { type: "RUNNING" } })),
    });
    const ids = new Set(runs.map((r) => r.id));
    const running = () =>
      sub.events.filter((e) => e.kind === "flow_run" && ids.has(e.flowRunId) && e.stateType === "RUNNING");
    expect(await sub.waitFor(() => running().length === runs.length)).not.toBeNull();
    // 150 events are ~35 KB: more than one notification's 8,000 bytes, each delivered once.
    expect(new Set(running().map((e) => (e as { flowRunId: string }).flowRunId)).size).toBe(runs.length);
    sub.close();
    await sub.ended;
  });

  it("with a flowRunId, delivers that run's events only", async () => {
    const watched = await api.a.as.WORKER.flowRuns.create({ flowName: "live" });
    const other = await api.a.as.WORKER.flowRuns.create({ flowName: "live" });
    const sub = await subscribe(api.a.keys.READ, { flowRunId: watched.id });
    await api.a.as.WORKER.flowRuns.setState({ id: other.id, state: { type: "RUNNING" } });
    await api.a.as.WORKER.flowRuns.setState({ id: watched.id, state: { type: "RUNNING" } });
    expect(await sub.waitFor((e) => e.kind === "flow_run" && e.flowRunId === watched.id)).not.toBeNull();
    sub.close();
    await sub.ended;
    expect(sub.events.every((e) => e.kind === "flow_run" && e.flowRunId === watched.id)).toBe(true);
  });

  it("a subscription whose key is revoked receives nothing more and ends UNAUTHORIZED (regression)", async () => {
    const { key, apiKey } = await api.a.as.ADMIN.apiKeys.create({ name: "watcher", scope: "READ" });
    const sub = await subscribe(key);
    const before = await api.a.as.WORKER.flowRuns.create({ flowName: "live" });
    expect(await sub.waitFor((e) => e.kind === "flow_run" && e.flowRunId === before.id)).not.toBeNull();

    await api.a.as.ADMIN.apiKeys.revoke({ id: apiKey.id });
    const after = await api.a.as.WORKER.flowRuns.create({ flowName: "live" });
    const err = await Promise.race([sub.ended, new Promise((r) => setTimeout(() => r("still open"), 5_000))]);
    sub.close();
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("UNAUTHORIZED");
    expect(sub.events.some((e) => e.kind === "flow_run" && e.flowRunId === after.id)).toBe(false);
  });

  it("a long-lived subscription does not pile up abort listeners, one per event (regression)", async () => {
    const controller = new AbortController();
    const sub = await subscribe(api.a.keys.READ, {}, controller);
    const runs = [];
    for (let i = 0; i < 30; i++) {
      const run = await api.a.as.WORKER.flowRuns.create({ flowName: "chatty" });
      runs.push(run.id);
      await sub.waitFor((e) => e.kind === "flow_run" && e.flowRunId === run.id);
    }
    expect(getEventListeners(controller.signal, "abort").length).toBeLessThan(5);
    sub.close();
    await sub.ended;
  });
});
