import { describe, expect, it } from "vitest";
import { nextSlots, ScheduleError, slotsBetween, type ScheduleSpec } from "./index.ts";

const iso = (dates: Date[]): string[] => dates.map((d) => d.toISOString());
const at = (s: string): Date => new Date(s);

describe("cron slots", () => {
  it("expands a 5-field expression in UTC when no timezone is given", () => {
    const spec: ScheduleSpec = { kind: "cron", cron: "*/15 * * * *" };
    expect(iso(nextSlots(spec, at("2026-01-01T00:07:00Z"), { limit: 4 }))).toEqual([
      "2026-01-01T00:15:00.000Z",
      "2026-01-01T00:30:00.000Z",
      "2026-01-01T00:45:00.000Z",
      "2026-01-01T01:00:00.000Z",
    ]);
  });

  it("returns slots strictly after `after`, even when `after` is itself a slot", () => {
    const spec: ScheduleSpec = { kind: "cron", cron: "0 * * * *" };
    expect(iso(nextSlots(spec, at("2026-01-01T01:00:00Z"), { limit: 1 }))).toEqual(["2026-01-01T02:00:00.000Z"]);
    expect(iso(nextSlots(spec, at("2026-01-01T00:59:59.999Z"), { limit: 1 }))).toEqual(["2026-01-01T01:00:00.000Z"]);
  });

  it("reads weekday names and honours the day-of-week field", () => {
    const spec: ScheduleSpec = { kind: "cron", cron: "30 9 * * MON-FRI" };
    // 2026-01-02 is a Friday.
    expect(iso(nextSlots(spec, at("2026-01-02T10:00:00Z"), { limit: 2 }))).toEqual([
      "2026-01-05T09:30:00.000Z",
      "2026-01-06T09:30:00.000Z",
    ]);
  });

  it("runs 6-field expressions with a leading seconds field", () => {
    const spec: ScheduleSpec = { kind: "cron", cron: "*/20 * * * * *" };
    expect(iso(nextSlots(spec, at("2026-01-01T00:00:05Z"), { limit: 4 }))).toEqual([
      "2026-01-01T00:00:20.000Z",
      "2026-01-01T00:00:40.000Z",
      "2026-01-01T00:01:00.000Z",
      "2026-01-01T00:01:20.000Z",
    ]);
    expect(iso(nextSlots({ kind: "cron", cron: "15 30 2 * * *" }, at("2026-01-01T00:00:00Z"), { limit: 1 }))).toEqual([
      "2026-01-01T02:30:15.000Z",
    ]);
  });

  it("evaluates the expression on the schedule's clock", () => {
    const spec: ScheduleSpec = { kind: "cron", cron: "0 2 * * *", timezone: "Europe/Berlin" };
    // Berlin is UTC+1 in January and UTC+2 in July; in July `after` is exactly 02:00, so the next day.
    expect(iso(nextSlots(spec, at("2026-01-10T00:00:00Z"), { limit: 1 }))).toEqual(["2026-01-10T01:00:00.000Z"]);
    expect(iso(nextSlots(spec, at("2026-07-10T00:00:00Z"), { limit: 1 }))).toEqual(["2026-07-11T00:00:00.000Z"]);
  });

  it("stops at `until` (inclusive) and at `limit`", () => {
    const spec: ScheduleSpec = { kind: "cron", cron: "0 * * * *" };
    expect(iso(nextSlots(spec, at("2026-01-01T00:00:00Z"), { until: at("2026-01-01T03:00:00Z"), limit: 10 }))).toEqual([
      "2026-01-01T01:00:00.000Z",
      "2026-01-01T02:00:00.000Z",
      "2026-01-01T03:00:00.000Z",
    ]);
    expect(nextSlots(spec, at("2026-01-01T00:00:00Z"), { limit: 0 })).toEqual([]);
    expect(nextSlots(spec, at("2026-01-01T00:00:00Z"), { until: at("2026-01-01T00:30:00Z"), limit: 5 })).toEqual([]);
  });
});

// America/New_York springs forward on 2026-03-08 (02:00 EST -> 03:00 EDT, 02:00-02:59 never
// happens) and falls back on 2026-11-01 (02:00 EDT -> 01:00 EST, 01:00-01:59 happens twice).
// croner 11 documents: fixed-time jobs run at the first valid time after a gap, on the same day,
// and once (the first occurrence) in a repeated hour; interval jobs skip times in a gap and run
// on both occurrences of a repeated time.
describe("cron across DST in America/New_York", () => {
  const ny = (cron: string): ScheduleSpec => ({ kind: "cron", cron, timezone: "America/New_York" });

  // Each row: name, cron, `after`, limit, the expected slots.
  it.each<[string, string, string, number, string[]]>([
    [
      "spring forward: a fixed 02:30 job runs at 03:00 EDT, the first valid time after the gap",
      "30 2 * * *",
      "2026-03-07T12:00:00Z",
      2,
      [
        "2026-03-08T07:00:00.000Z", // 03:00 EDT
        "2026-03-09T06:30:00.000Z", // 02:30 EDT
      ],
    ],
    [
      "spring forward: a fixed 01:30 job, before the gap, is unaffected",
      "30 1 * * *",
      "2026-03-07T12:00:00Z",
      2,
      [
        "2026-03-08T06:30:00.000Z", // 01:30 EST
        "2026-03-09T05:30:00.000Z", // 01:30 EDT
      ],
    ],
    [
      "spring forward: an interval job skips the times that do not exist",
      "*/30 * * * *",
      "2026-03-08T06:00:00Z",
      3,
      [
        "2026-03-08T06:30:00.000Z", // 01:30 EST
        "2026-03-08T07:00:00.000Z", // 03:00 EDT: 02:00 and 02:30 never happened
        "2026-03-08T07:30:00.000Z", // 03:30 EDT
      ],
    ],
    [
      "fall back: a fixed 01:30 job runs once, at the first 01:30 (EDT)",
      "30 1 * * *",
      "2026-10-31T12:00:00Z",
      2,
      [
        "2026-11-01T05:30:00.000Z", // 01:30 EDT
        "2026-11-02T06:30:00.000Z", // 01:30 EST the next day
      ],
    ],
    [
      "fall back: a fixed 02:30 job keeps its wall-clock time",
      "30 2 * * *",
      "2026-10-31T12:00:00Z",
      2,
      [
        "2026-11-01T07:30:00.000Z", // 02:30 EST
        "2026-11-02T07:30:00.000Z",
      ],
    ],
    [
      "fall back: an interval job runs on both occurrences of the repeated hour",
      "*/30 * * * *",
      "2026-11-01T05:00:00Z",
      5,
      [
        "2026-11-01T05:30:00.000Z", // 01:30 EDT
        "2026-11-01T06:00:00.000Z", // 01:00 EST
        "2026-11-01T06:30:00.000Z", // 01:30 EST
        "2026-11-01T07:00:00.000Z", // 02:00 EST
        "2026-11-01T07:30:00.000Z",
      ],
    ],
    [
      "a list in the hour field is an interval job by croner's default rule",
      "30 1,2 * * *",
      "2026-10-31T12:00:00Z",
      3,
      [
        "2026-11-01T05:30:00.000Z", // 01:30 EDT
        "2026-11-01T06:30:00.000Z", // 01:30 EST
        "2026-11-01T07:30:00.000Z", // 02:30 EST
      ],
    ],
  ])("%s", (_name, cron, after, limit, expected) => {
    expect(iso(nextSlots(ny(cron), at(after), { limit }))).toEqual(expected);
  });
});

describe("interval slots", () => {
  it("aligns to 2020-01-01T00:00:00Z by default: anchor + k * interval", () => {
    const spec: ScheduleSpec = { kind: "interval", intervalSeconds: 7 * 60 };
    const [first, second] = nextSlots(spec, at("2026-01-01T00:00:00Z"), { limit: 2 });
    const anchor = Date.UTC(2020, 0, 1);
    expect(((first as Date).getTime() - anchor) % (7 * 60_000)).toBe(0);
    expect((second as Date).getTime() - (first as Date).getTime()).toBe(7 * 60_000);
    expect((first as Date).getTime()).toBeGreaterThan(Date.UTC(2026, 0, 1));
    expect((first as Date).getTime() - Date.UTC(2026, 0, 1)).toBeLessThanOrEqual(7 * 60_000);
  });

  it("aligns to an explicit anchor, before and after it", () => {
    const spec: ScheduleSpec = { kind: "interval", intervalSeconds: 3600, anchorDate: "2026-05-01T00:20:00Z" };
    expect(iso(nextSlots(spec, at("2026-04-30T22:00:00Z"), { limit: 3 }))).toEqual([
      "2026-04-30T22:20:00.000Z",
      "2026-04-30T23:20:00.000Z",
      "2026-05-01T00:20:00.000Z",
    ]);
  });

  it("never returns the slot equal to `after`", () => {
    const spec: ScheduleSpec = { kind: "interval", intervalSeconds: 60 };
    expect(iso(nextSlots(spec, at("2026-01-01T00:01:00Z"), { limit: 1 }))).toEqual(["2026-01-01T00:02:00.000Z"]);
  });

  it("reads an anchor without offset on the schedule's clock", () => {
    const spec: ScheduleSpec = {
      kind: "interval",
      intervalSeconds: 86_400,
      anchorDate: "2026-01-01T09:00:00",
      timezone: "Europe/Berlin",
    };
    expect(iso(nextSlots(spec, at("2026-01-10T00:00:00Z"), { limit: 1 }))).toEqual(["2026-01-10T08:00:00.000Z"]);
  });

  it("keeps daily intervals at the same wall-clock time across DST", () => {
    const spec: ScheduleSpec = {
      kind: "interval",
      intervalSeconds: 86_400,
      anchorDate: "2026-01-01T09:00:00",
      timezone: "America/New_York",
    };
    expect(iso(nextSlots(spec, at("2026-03-07T00:00:00Z"), { limit: 3 }))).toEqual([
      "2026-03-07T14:00:00.000Z", // 09:00 EST
      "2026-03-08T13:00:00.000Z", // 09:00 EDT: a 23-hour day
      "2026-03-09T13:00:00.000Z",
    ]);
  });

  it("steps sub-daily intervals in elapsed time across DST", () => {
    const spec: ScheduleSpec = { kind: "interval", intervalSeconds: 3600, timezone: "America/New_York" };
    expect(iso(nextSlots(spec, at("2026-11-01T04:30:00Z"), { limit: 4 }))).toEqual([
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T06:00:00.000Z", // 01:00 EST
      "2026-11-01T07:00:00.000Z",
      "2026-11-01T08:00:00.000Z",
    ]);
  });
});

describe("slotsBetween", () => {
  const hourly: ScheduleSpec = { kind: "cron", cron: "0 * * * *" };

  it("includes `from` and excludes `to`", () => {
    expect(iso(slotsBetween(hourly, at("2026-01-01T00:00:00Z"), at("2026-01-01T03:00:00Z"), 10))).toEqual([
      "2026-01-01T00:00:00.000Z",
      "2026-01-01T01:00:00.000Z",
      "2026-01-01T02:00:00.000Z",
    ]);
  });

  it("returns nothing for an empty window", () => {
    expect(slotsBetween(hourly, at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"), 10)).toEqual([]);
  });

  it("accepts exactly `max` slots and refuses one more", () => {
    expect(slotsBetween(hourly, at("2026-01-01T00:00:00Z"), at("2026-01-01T03:00:00Z"), 3)).toHaveLength(3);
    let error: unknown;
    try {
      slotsBetween(hourly, at("2026-01-01T00:00:00Z"), at("2026-01-01T03:00:01Z"), 3);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScheduleError);
    expect((error as ScheduleError).code).toBe("TOO_MANY_SLOTS");
  });

  it("refuses a window that ends before it starts", () => {
    expect(() => slotsBetween(hourly, at("2026-01-02T00:00:00Z"), at("2026-01-01T00:00:00Z"), 10)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });

  it("works for interval schedules over a backfill window", () => {
    const spec: ScheduleSpec = { kind: "interval", intervalSeconds: 86_400 };
    expect(iso(slotsBetween(spec, at("2026-01-01T00:00:00Z"), at("2026-01-04T00:00:00Z"), 100))).toEqual([
      "2026-01-01T00:00:00.000Z",
      "2026-01-02T00:00:00.000Z",
      "2026-01-03T00:00:00.000Z",
    ]);
  });
});

describe("invalid arguments", () => {
  it("refuses an invalid spec with the validation issues attached", () => {
    expect(() => nextSlots({ kind: "cron", cron: "61 * * * *" }, new Date(), { limit: 1 })).toThrow(
      expect.objectContaining({ code: "INVALID_SCHEDULE", issues: [expect.objectContaining({ path: "cron" })] }),
    );
  });

  it("refuses invalid dates and limits", () => {
    const spec: ScheduleSpec = { kind: "interval", intervalSeconds: 60 };
    expect(() => nextSlots(spec, new Date(NaN), { limit: 1 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() => nextSlots(spec, new Date(), { limit: -1 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() => nextSlots(spec, new Date(), { limit: 1.5 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});
