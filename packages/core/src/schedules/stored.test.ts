import { describe, expect, it } from "vitest";
import { specOfStored, type StoredSchedule } from "./stored.ts";

const row = (fields: Partial<StoredSchedule>): StoredSchedule => ({
  kind: "cron",
  cron: null,
  intervalSeconds: null,
  anchorDate: null,
  rrule: null,
  timezone: "",
  ...fields,
});

describe("specOfStored", () => {
  it("reads each kind from its own column, in the database's case or the API's", () => {
    expect(specOfStored(row({ kind: "CRON", cron: "0 6 * * *", timezone: "Europe/Berlin" }))).toEqual({
      kind: "cron",
      cron: "0 6 * * *",
      timezone: "Europe/Berlin",
    });
    expect(specOfStored(row({ kind: "interval", intervalSeconds: 3600, anchorDate: "2026-01-01T00:00:00Z" }))).toEqual({
      kind: "interval",
      intervalSeconds: 3600,
      anchorDate: "2026-01-01T00:00:00Z",
    });
    expect(specOfStored(row({ kind: "rrule", rrule: "FREQ=DAILY", timezone: "UTC" }))).toEqual({
      kind: "rrule",
      rrule: "FREQ=DAILY",
      timezone: "UTC",
    });
  });

  it("leaves out an empty time zone, so the spec's default (UTC) applies", () => {
    expect(specOfStored(row({ cron: "@daily" }))).toEqual({ kind: "cron", cron: "@daily" });
  });

  it("answers null when the kind's column is empty or the kind is unknown", () => {
    expect(specOfStored(row({ kind: "cron" }))).toBeNull();
    expect(specOfStored(row({ kind: "interval", cron: "0 6 * * *" }))).toBeNull();
    expect(specOfStored(row({ kind: "weekly", cron: "0 6 * * *" }))).toBeNull();
  });
});
