// Request slots shared between workspaces: one workspace alone uses them all; when another
// workspace is waiting, freed slots alternate between them instead of going to the longest queue.
import { describe, expect, it } from "vitest";
import { ApiError } from "../errors.ts";
import { FairScheduler } from "./fair-scheduler.ts";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("FairScheduler", () => {
  it("a workspace alone runs up to the concurrency at once", async () => {
    const scheduler = new FairScheduler({ concurrency: 3, maxQueuedPerWorkspace: 10 });
    const release = gate();
    const running = Array.from({ length: 5 }, () => scheduler.run("a", () => release.opened));
    await Promise.resolve();
    expect(scheduler.load).toEqual({ running: 3, waiting: 2 });
    release.open();
    await Promise.all(running);
    expect(scheduler.load).toEqual({ running: 0, waiting: 0 });
  });

  it("a workspace arriving behind a flood gets the next free slot, not the end of the flood's queue", async () => {
    const scheduler = new FairScheduler({ concurrency: 2, maxQueuedPerWorkspace: 100 });
    const order: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const start = (workspace: string, name: string) => {
      const g = gate();
      gates.set(name, g);
      return scheduler.run(workspace, async () => {
        order.push(name);
        await g.opened;
      });
    };
    const all = [start("b", "b1"), start("b", "b2")];
    for (let i = 3; i <= 20; i++) all.push(start("b", `b${i}`));
    all.push(start("a", "a1"), start("a", "a2"));
    await Promise.resolve();
    expect(order).toEqual(["b1", "b2"]);
    // Each freed slot goes to the next workspace in turn: b (queued first), then a, then b, then a.
    for (const name of ["b1", "b2", "b3", "a1"]) {
      gates.get(name)!.open();
      await new Promise((r) => setImmediate(r));
    }
    expect(order.slice(0, 6)).toEqual(["b1", "b2", "b3", "a1", "b4", "a2"]);
    for (let i = 0; i < 30; i++) {
      for (const g of gates.values()) g.open();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(order).toHaveLength(22);
  });

  it("refuses a workspace whose queue is full with RATE_LIMITED and a retry hint, and frees slots on failure", async () => {
    const scheduler = new FairScheduler({ concurrency: 1, maxQueuedPerWorkspace: 2 });
    const release = gate();
    const first = scheduler.run("b", () => release.opened);
    const queued = [scheduler.run("b", async () => {}), scheduler.run("b", async () => {})];
    const refused = await scheduler.run("b", async () => {}).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).apiCode).toBe("RATE_LIMITED");
    expect((refused as ApiError).retryAfterMs).toBeGreaterThan(0);
    // Other workspaces still queue.
    const other = scheduler.run("a", () => Promise.reject(new Error("boom")));
    release.open();
    await Promise.all([first, ...queued]);
    await expect(other).rejects.toThrow("boom");
    expect(scheduler.load).toEqual({ running: 0, waiting: 0 });
  });
});
