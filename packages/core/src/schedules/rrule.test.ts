import { describe, expect, it } from "vitest";
import { nextSlots, slotsBetween, type ScheduleSpec } from "./index.ts";

const iso = (dates: Date[]): string[] => dates.map((d) => d.toISOString());
const at = (s: string): Date => new Date(s);
const rrule = (text: string, timezone?: string): ScheduleSpec =>
  timezone ? { kind: "rrule", rrule: text, timezone } : { kind: "rrule", rrule: text };

describe("rrule slots", () => {
  // Each row: name, rule, timezone, `after`, limit, the expected slots.
  it.each<[string, string, string | undefined, string, number, string[]]>([
    [
      "FREQ=DAILY expands BYHOUR x BYMINUTE",
      "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0,30",
      undefined,
      "2026-01-01T10:00:00Z",
      4,
      ["2026-01-01T17:00:00.000Z", "2026-01-01T17:30:00.000Z", "2026-01-02T09:00:00.000Z", "2026-01-02T09:30:00.000Z"],
    ],
    [
      "takes missing fields from DTSTART and never returns a time before it",
      "DTSTART:20260110T061500Z\nRRULE:FREQ=DAILY",
      undefined,
      "2026-01-01T00:00:00Z",
      2,
      ["2026-01-10T06:15:00.000Z", "2026-01-11T06:15:00.000Z"],
    ],
    [
      // 2026-01-05 is a Monday.
      "FREQ=WEEKLY with BYDAY and INTERVAL counts weeks from DTSTART's week",
      "DTSTART:20260105T090000Z\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
      undefined,
      "2026-01-01T00:00:00Z",
      4,
      ["2026-01-05T09:00:00.000Z", "2026-01-09T09:00:00.000Z", "2026-01-19T09:00:00.000Z", "2026-01-23T09:00:00.000Z"],
    ],
    [
      // 2026-01-03 is a Saturday.
      "FREQ=HOURLY with INTERVAL, filtered by BYDAY",
      "DTSTART:20260101T000000Z\nRRULE:FREQ=HOURLY;INTERVAL=6;BYDAY=SA;BYMINUTE=10",
      undefined,
      "2026-01-01T00:00:00Z",
      5,
      [
        "2026-01-03T00:10:00.000Z",
        "2026-01-03T06:10:00.000Z",
        "2026-01-03T12:10:00.000Z",
        "2026-01-03T18:10:00.000Z",
        "2026-01-10T00:10:00.000Z",
      ],
    ],
    [
      "FREQ=MINUTELY filtered by BYHOUR",
      "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9",
      undefined,
      "2026-01-01T00:00:00Z",
      4,
      ["2026-01-01T09:00:00.000Z", "2026-01-01T09:20:00.000Z", "2026-01-01T09:40:00.000Z", "2026-01-02T09:00:00.000Z"],
    ],
    [
      "stops at UNTIL, inclusive",
      "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY;UNTIL=20260103T000000Z",
      undefined,
      "2025-12-01T00:00:00Z",
      10,
      ["2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"],
    ],
    [
      "reads DTSTART;TZID and keeps the wall-clock time across DST",
      "DTSTART;TZID=America/New_York:20260301T090000\nRRULE:FREQ=DAILY",
      undefined,
      "2026-03-07T00:00:00Z",
      3,
      ["2026-03-07T14:00:00.000Z", "2026-03-08T13:00:00.000Z", "2026-03-09T13:00:00.000Z"],
    ],
    [
      "moves a time inside the spring-forward gap forward by the gap (RFC 5545), 02:30 -> 03:30 EDT",
      "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
      "America/New_York",
      "2026-03-07T12:00:00Z",
      2,
      ["2026-03-08T07:30:00.000Z", "2026-03-09T06:30:00.000Z"],
    ],
    [
      "resolves a repeated time to its first occurrence",
      "FREQ=DAILY;BYHOUR=1;BYMINUTE=30",
      "America/New_York",
      "2026-10-31T12:00:00Z",
      2,
      ["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"],
    ],
    [
      // Every 40 minutes of wall-clock time: 02:00 and 02:40 do not exist on 2026-03-08 and move to
      // 03:00 and 03:40 EDT, after the real 03:20.
      "keeps slots in order and unique when gap-shifted times overtake later ones",
      "FREQ=MINUTELY;INTERVAL=40",
      "America/New_York",
      "2026-03-08T05:50:00Z",
      6,
      [
        "2026-03-08T06:20:00.000Z", // 01:20 EST
        "2026-03-08T07:00:00.000Z", // 02:00 -> 03:00 EDT
        "2026-03-08T07:20:00.000Z", // 03:20 EDT
        "2026-03-08T07:40:00.000Z", // 02:40 -> 03:40 EDT
        "2026-03-08T08:00:00.000Z", // 04:00 EDT
        "2026-03-08T08:40:00.000Z", // 04:40 EDT
      ],
    ],
  ])("%s", (_name, text, timezone, after, limit, expected) => {
    expect(iso(nextSlots(rrule(text, timezone), at(after), { limit }))).toEqual(expected);
  });

  it("stays fast far from DTSTART", () => {
    const started = performance.now();
    const slots = slotsBetween(
      rrule("FREQ=MINUTELY;INTERVAL=5", "Europe/Berlin"),
      at("2030-06-01T00:00:00Z"),
      at("2030-06-02T00:00:00Z"),
      1000,
    );
    expect(slots).toHaveLength(288);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
