import { describe, expect, it } from "vitest";
import { validateSchedule } from "./index.ts";

function errorsOf(spec: unknown): { path: string; message: string }[] {
  const r = validateSchedule(spec);
  if (r.ok) throw new Error(`expected ${JSON.stringify(spec)} to be invalid`);
  return r.errors;
}

describe("validateSchedule", () => {
  it("accepts and normalizes valid specs", () => {
    expect(validateSchedule({ kind: "cron", cron: "  0 2 * * *  ", timezone: "Europe/Berlin" })).toEqual({
      ok: true,
      spec: { kind: "cron", cron: "0 2 * * *", timezone: "Europe/Berlin" },
    });
    expect(validateSchedule({ kind: "interval", intervalSeconds: 300, timezone: null, anchorDate: null })).toEqual({
      ok: true,
      spec: { kind: "interval", intervalSeconds: 300 },
    });
    expect(
      validateSchedule({ kind: "interval", intervalSeconds: 60, anchorDate: new Date("2026-01-01T00:00:00Z") }),
    ).toEqual({
      ok: true,
      spec: { kind: "interval", intervalSeconds: 60, anchorDate: "2026-01-01T00:00:00.000Z" },
    });
    expect(validateSchedule({ kind: "cron", cron: "@daily" }).ok).toBe(true);
    expect(validateSchedule({ kind: "cron", cron: "0 0 12 * * MON" }).ok).toBe(true);
  });

  it("drops fields that are not part of a schedule, such as a deployment's `active` flag", () => {
    expect(validateSchedule({ kind: "cron", cron: "0 * * * *", active: false, parameters: {} })).toEqual({
      ok: true,
      spec: { kind: "cron", cron: "0 * * * *" },
    });
  });

  it("refuses a field of another kind of schedule", () => {
    expect(errorsOf({ kind: "interval", intervalSeconds: 60, cron: "* * * * *" })).toEqual([
      { path: "cron", message: expect.stringContaining("belongs to cron schedules") },
    ]);
  });

  it("refuses a spec that is not an object or has an unknown kind", () => {
    expect(errorsOf("0 * * * *")[0]?.path).toBe("");
    expect(errorsOf({ kind: "weekly" })).toEqual([{ path: "kind", message: expect.stringContaining('"weekly"') }]);
  });

  it.each([
    ["61 * * * *", "Invalid value for minute: 61"],
    ["* * * *", "expected 5 fields"],
    ["0 0 * * * * 2030", "got 7"],
    ["2030-01-01T00:00:00", "got 1"],
    ["*/0 * * * *", "illegal stepping"],
    ["@reboot", "unknown nickname"],
    ["0 0 30 2 *", "never matches"],
  ])("refuses cron %j naming the field", (cron, reason) => {
    const [error] = errorsOf({ kind: "cron", cron });
    expect(error?.path).toBe("cron");
    expect(error?.message).toContain(reason);
  });

  it("refuses an empty or missing cron expression", () => {
    expect(errorsOf({ kind: "cron", cron: "  " })[0]?.path).toBe("cron");
    expect(errorsOf({ kind: "cron" })[0]?.path).toBe("cron");
  });

  it.each(["Mars/Olympus", "Europe/Berln", "+02:00", ""])("refuses unknown time zone %j", (timezone) => {
    expect(errorsOf({ kind: "cron", cron: "0 * * * *", timezone })).toEqual([
      { path: "timezone", message: expect.stringContaining("unknown IANA time zone") },
    ]);
  });

  it.each([
    [0, "at least 1 second"],
    [-60, "at least 1 second"],
    [1.5, "whole number"],
    [0.5, "whole number"],
    [Number.NaN, "whole number"],
    ["60", "whole number"],
    [undefined, "whole number"],
  ])("refuses intervalSeconds %j", (intervalSeconds, reason) => {
    const [error] = errorsOf({ kind: "interval", intervalSeconds });
    expect(error?.path).toBe("intervalSeconds");
    expect(error?.message).toContain(reason);
  });

  it("refuses an anchor that is not an ISO date-time", () => {
    for (const anchorDate of ["yesterday", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", 1_700_000_000]) {
      expect(errorsOf({ kind: "interval", intervalSeconds: 60, anchorDate })[0]?.path).toBe("anchorDate");
    }
  });

  it("reports every invalid field at once", () => {
    expect(
      errorsOf({ kind: "interval", intervalSeconds: 0, timezone: "Nowhere/City" })
        .map((e) => e.path)
        .sort(),
    ).toEqual(["intervalSeconds", "timezone"]);
  });

  it("validates rrule specs", () => {
    expect(validateSchedule({ kind: "rrule", rrule: "FREQ=DAILY;BYHOUR=9;BYMINUTE=0", timezone: "UTC" }).ok).toBe(true);
    expect(errorsOf({ kind: "rrule", rrule: "FREQ=MONTHLY;BYMONTHDAY=1" })).toEqual([
      { path: "rrule", message: expect.stringContaining("FREQ=MONTHLY is not supported") },
    ]);
    expect(errorsOf({ kind: "rrule", rrule: "FREQ=DAILY;COUNT=3" })[0]?.message).toContain("COUNT is not supported");
    expect(errorsOf({ kind: "rrule", rrule: "FREQ=WEEKLY;BYDAY=1MO" })[0]?.message).toContain("numbered weekdays");
    expect(errorsOf({ kind: "rrule", rrule: "FREQ=DAILY;BYHOUR=24" })[0]?.message).toContain("BYHOUR");
    expect(errorsOf({ kind: "rrule", rrule: "FREQ=DAILY;INTERVAL=0" })[0]?.message).toContain("INTERVAL");
    expect(
      errorsOf({ kind: "rrule", rrule: "DTSTART:20260105T000000Z\nRRULE:FREQ=DAILY;INTERVAL=7;BYDAY=TU" })[0]?.message,
    ).toContain("produces no times");
    expect(
      errorsOf({ kind: "rrule", rrule: "DTSTART:20260105T000000Z\nRRULE:FREQ=DAILY;UNTIL=20260101T000000Z" })[0]
        ?.message,
    ).toContain("produces no times");
    expect(
      errorsOf({
        kind: "rrule",
        rrule: "DTSTART;TZID=Europe/Berlin:20260101T090000\nRRULE:FREQ=DAILY",
        timezone: "UTC",
      })[0]?.message,
    ).toContain("contradicts");
    expect(errorsOf({ kind: "rrule", rrule: "EXDATE:20260101T000000Z\nRRULE:FREQ=DAILY" })[0]?.message).toContain(
      'unsupported line "EXDATE"',
    );
  });
});
