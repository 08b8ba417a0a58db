import { describe, expect, it } from "vitest";
import { describeSchedule, type ScheduleSpec } from "./index.ts";

const cron = (expr: string, timezone?: string): ScheduleSpec =>
  timezone ? { kind: "cron", cron: expr, timezone } : { kind: "cron", cron: expr };

describe("describeSchedule", () => {
  it.each([
    ["* * * * *", undefined, "every minute"],
    ["*/5 * * * *", undefined, "every 5 minutes"],
    ["0 * * * *", undefined, "every hour"],
    ["15 * * * *", undefined, "every hour at minute 15"],
    ["0 */6 * * *", undefined, "every 6 hours"],
    ["0 2 * * *", "Europe/Berlin", "at 02:00 every day (Europe/Berlin)"],
    ["0 2 * * *", undefined, "at 02:00 every day (UTC)"],
    ["30 9 * * 1-5", "UTC", "at 09:30 on Monday through Friday (UTC)"],
    ["30 9 * * MON-FRI", undefined, "at 09:30 on Monday through Friday (UTC)"],
    ["0 9,17 * * *", undefined, "at 09:00 and 17:00 every day (UTC)"],
    ["0 8 * * 1,3,5", undefined, "at 08:00 on Monday, Wednesday and Friday (UTC)"],
    ["0 10 * * 6,0", undefined, "at 10:00 on Saturday and Sunday (UTC)"],
    ["0 10 * * 0-6", undefined, "at 10:00 every day (UTC)"],
    ["0 0 1 * *", undefined, "at 00:00 on day 1 of every month (UTC)"],
    ["@yearly", undefined, "at 00:00 on January 1 (UTC)"],
    ["@daily", "Asia/Tokyo", "at 00:00 every day (Asia/Tokyo)"],
    ["*/10 * * * * *", undefined, "every 10 seconds"],
    ["0 30 9 * * *", undefined, "at 09:30 every day (UTC)"],
    ["15 * * * *", "Asia/Kolkata", "every hour at minute 15 (Asia/Kolkata)"],
  ])("cron %j in %s -> %j", (expr, timezone, words) => {
    expect(describeSchedule(cron(expr, timezone))).toBe(words);
  });

  it.each([["*/7 * * * *"], ["0 9 1 * MON"], ["0 12 * * 5#2"], ["0 0 L * *"], ["5-10 * * * *"], ["15 30 9 * * *"]])(
    "falls back to the expression for %j",
    (expr) => {
      expect(describeSchedule(cron(expr, "Europe/Berlin"))).toBe(`cron \`${expr}\` (Europe/Berlin)`);
    },
  );

  it.each([
    [1, undefined, undefined, "every second"],
    [90, undefined, undefined, "every 90 seconds"],
    [300, undefined, undefined, "every 5 minutes"],
    [3600, undefined, undefined, "every hour"],
    [7200, undefined, undefined, "every 2 hours"],
    [86_400, undefined, undefined, "every day at 00:00 (UTC)"],
    [86_400, "2026-01-01T09:30:00", "Europe/Berlin", "every day at 09:30 (Europe/Berlin)"],
    [172_800, "2026-01-01T06:00:00Z", undefined, "every 2 days at 06:00 (UTC)"],
    [604_800, "2026-01-05T08:00:00Z", undefined, "every week on Monday at 08:00 (UTC)"],
  ])("interval %j anchored at %s in %s -> %j", (intervalSeconds, anchorDate, timezone, words) => {
    const spec: ScheduleSpec = { kind: "interval", intervalSeconds };
    if (anchorDate) spec.anchorDate = anchorDate;
    if (timezone) spec.timezone = timezone;
    expect(describeSchedule(spec)).toBe(words);
  });

  it.each([
    ["FREQ=MINUTELY;INTERVAL=15", undefined, "every 15 minutes"],
    ["FREQ=HOURLY;BYMINUTE=5", undefined, "every hour at minute 5"],
    ["FREQ=DAILY;BYHOUR=9;BYMINUTE=0", "Europe/Berlin", "at 09:00 every day (Europe/Berlin)"],
    ["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=30", undefined, "at 09:30 on Monday through Friday (UTC)"],
    ["FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=8;BYMINUTE=0", undefined, "at 08:00 every 2 weeks on Monday (UTC)"],
    [
      "DTSTART;TZID=America/New_York:20260101T073000\nRRULE:FREQ=DAILY",
      undefined,
      "at 07:30 every day (America/New_York)",
    ],
    [
      "FREQ=DAILY;BYHOUR=9;UNTIL=20270101T000000Z",
      undefined,
      "rrule `FREQ=DAILY;BYHOUR=9;UNTIL=20270101T000000Z` (UTC)",
    ],
  ])("rrule %j in %s -> %j", (rrule, timezone, words) => {
    const spec: ScheduleSpec = timezone ? { kind: "rrule", rrule, timezone } : { kind: "rrule", rrule };
    expect(describeSchedule(spec)).toBe(words);
  });
});
