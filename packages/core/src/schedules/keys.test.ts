import { describe, expect, it } from "vitest";
import { partitionKeyFor, scheduleSlotKey } from "./index.ts";

describe("slot keys", () => {
  const slot = new Date("2026-03-08T07:00:00Z");

  it("derives the same key for the same (deployment, schedule, slot) on every replica", () => {
    expect(scheduleSlotKey("dep-1", "sch-1", slot)).toBe("scheduled:dep-1:sch-1:2026-03-08T07:00:00.000Z");
    expect(scheduleSlotKey("dep-1", "sch-1", new Date(slot.getTime()))).toBe(scheduleSlotKey("dep-1", "sch-1", slot));
  });

  it("gives different keys to different slots, schedules and deployments", () => {
    const keys = new Set([
      scheduleSlotKey("dep-1", "sch-1", slot),
      scheduleSlotKey("dep-1", "sch-1", new Date(slot.getTime() + 1000)),
      scheduleSlotKey("dep-1", "sch-2", slot),
      scheduleSlotKey("dep-2", "sch-1", slot),
    ]);
    expect(keys.size).toBe(4);
  });

  it("cannot be made to collide by a ':' inside an id", () => {
    expect(scheduleSlotKey("a:b", "c", slot)).not.toBe(scheduleSlotKey("a", "b:c", slot));
  });

  it("partition keys are ISO-8601 UTC and sort as their times do", () => {
    expect(partitionKeyFor(slot)).toBe("2026-03-08T07:00:00.000Z");
    const slots = [
      new Date("2026-03-08T07:00:00Z"),
      new Date("2026-03-08T06:59:59.500Z"),
      new Date("2025-12-31T23:00:00Z"),
    ];
    const byKey = [...slots].sort((a, b) => partitionKeyFor(a).localeCompare(partitionKeyFor(b)));
    const byTime = [...slots].sort((a, b) => a.getTime() - b.getTime());
    expect(byKey).toEqual(byTime);
  });

  it("refuses an invalid Date", () => {
    expect(() => partitionKeyFor(new Date(NaN))).toThrow(RangeError);
  });
});
