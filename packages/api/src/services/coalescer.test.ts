import { describe, expect, it } from "vitest";
import { Coalescer } from "./coalescer.ts";

/** A batch function that records each call's items and answers item * 10. */
function recording(fail?: (items: number[]) => boolean) {
  const calls: number[][] = [];
  const run = async (items: number[]) => {
    calls.push([...items]);
    if (fail?.(items)) throw new Error(`batch of ${items.length} failed`);
    return items.map((i) => i * 10);
  };
  return { calls, run };
}

describe("Coalescer", () => {
  it("runs the items submitted in one event-loop turn as one batch, answering each its own output", async () => {
    const { calls, run } = recording();
    const c = new Coalescer(run);
    const outs = await Promise.all([c.submit(1), c.submit(2), c.submit(3)]);
    expect(outs).toEqual([10, 20, 30]);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it("sends a lone item at the end of its own turn (no timer on an idle server)", async () => {
    const { calls, run } = recording();
    const c = new Coalescer(run);
    expect(await c.submit(7)).toBe(70);
    expect(await c.submit(8)).toBe(80);
    expect(calls).toEqual([[7], [8]]);
  });

  it("splits a turn's items into batches of at most maxBatch, in submission order", async () => {
    const { calls, run } = recording();
    const c = new Coalescer(run, { maxBatch: 2 });
    const outs = await Promise.all([1, 2, 3, 4, 5].map((i) => c.submit(i)));
    expect(outs).toEqual([10, 20, 30, 40, 50]);
    expect(calls).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("never puts two items with the same key in one batch (one statement would apply only one)", async () => {
    const calls: { id: string; n: number }[][] = [];
    const c = new Coalescer(
      async (items: { id: string; n: number }[]) => {
        calls.push(items);
        return items.map((i) => i.n);
      },
      { keyOf: (i) => i.id },
    );
    const outs = await Promise.all([
      c.submit({ id: "a", n: 1 }),
      c.submit({ id: "b", n: 2 }),
      c.submit({ id: "a", n: 3 }),
    ]);
    expect(outs).toEqual([1, 2, 3]);
    expect(calls.map((batch) => batch.map((i) => i.n))).toEqual([[1, 2], [3]]);
  });

  it("retries a failed batch item by item, so one bad item fails alone", async () => {
    const { calls, run } = recording((items) => items.includes(2));
    const c = new Coalescer(run);
    const results = await Promise.allSettled([c.submit(1), c.submit(2), c.submit(3)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(results[0]).toMatchObject({ value: 10 });
    expect(results[1]).toMatchObject({ reason: new Error("batch of 1 failed") });
    expect(results[2]).toMatchObject({ value: 30 });
    expect(calls).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it("rejects a lone item's failure without a retry", async () => {
    const { calls, run } = recording(() => true);
    const c = new Coalescer(run);
    await expect(c.submit(4)).rejects.toThrow("batch of 1 failed");
    expect(calls).toEqual([[4]]);
  });
});
