import { describe, expect, it } from "vitest";
import { itemAt, layoutTimeline, tickStep, type TimelineInputRow } from "./layout.ts";

const base = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(base + ms).toISOString();
function row(
  id: string,
  start: number | null,
  end: number | null,
  extra: Partial<TimelineInputRow> = {},
): TimelineInputRow {
  return {
    id,
    name: id,
    stateType: end === null ? "RUNNING" : "COMPLETED",
    stateName: "x",
    runCount: 1,
    startTime: start === null ? null : iso(start),
    endTime: end === null ? null : iso(end),
    createdAt: iso(start ?? 0),
    subflowRunId: null,
    ...extra,
  };
}

describe("layoutTimeline", () => {
  it("gives each task run its own lane in rows mode, in start order", () => {
    const l = layoutTimeline([row("b", 50, 60), row("a", 0, 10)], "rows");
    expect(l.items.map((i) => [i.id, i.lane])).toEqual([
      ["a", 0],
      ["b", 1],
    ]);
    expect(l.minTime).toBe(base);
    expect(l.maxTime).toBe(base + 60);
  });

  it("reuses a lane once it is free in packed mode, and keeps overlapping runs apart", () => {
    const l = layoutTimeline([row("a", 0, 10), row("b", 5, 20), row("c", 10, 30), row("d", 21, 25)], "packed");
    const lanes = Object.fromEntries(l.items.map((i) => [i.id, i.lane]));
    expect(lanes.a).not.toBe(lanes.b);
    expect(lanes.c).toBe(lanes.a);
    expect(lanes.d).toBe(lanes.b);
    expect(l.lanes).toHaveLength(2);
  });

  it("keeps a lane for a task run that is still running", () => {
    const l = layoutTimeline([row("a", 0, null), row("b", 100, 110)], "packed");
    expect(l.running).toBe(1);
    expect(l.lanes).toHaveLength(2);
  });

  // How long the placement takes is measured by `pnpm bench dashboard-scale` (the "layout" time of a
  // 10,000-task-run timeline in Chromium), not here: a wall-clock limit fails on a busy machine.
  it("places 10,000 task runs in packed lanes and finds one again by its position", () => {
    const rows = Array.from({ length: 10_000 }, (_, i) =>
      row(`t${String(i).padStart(5, "0")}`, i * 3, i * 3 + 50, { runCount: i % 7 === 0 ? 2 : 1 }),
    );
    const l = layoutTimeline(rows, "packed");
    expect(l.items).toHaveLength(10_000);
    expect(l.lanes.length).toBeGreaterThan(10);
    expect(itemAt(l, l.items[5000]!.lane, l.items[5000]!.start + 1, 0, Date.now())?.id).toBe(l.items[5000]!.id);
  });
});

describe("tickStep", () => {
  it("picks round steps", () => {
    expect(tickStep(10_000, 10)).toBe(1000);
    expect(tickStep(3_600_000, 6)).toBe(600_000);
  });
});
