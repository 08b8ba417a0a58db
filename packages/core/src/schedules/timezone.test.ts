import { describe, expect, it } from "vitest";
import { fromLocalMs, isValidTimeZone, parseIsoDateTime, toLocalMs } from "./timezone.ts";

const local = (s: string): number => Date.parse(`${s}Z`);

describe("wall-clock conversion", () => {
  it("reads an instant on a zone's clock", () => {
    expect(toLocalMs(Date.parse("2026-07-01T12:00:00Z"), "Europe/Berlin")).toBe(local("2026-07-01T14:00:00"));
    expect(toLocalMs(Date.parse("2026-01-01T12:00:00Z"), "Asia/Kolkata")).toBe(local("2026-01-01T17:30:00"));
    expect(toLocalMs(Date.parse("2028-02-29T23:30:00Z"), "Asia/Tokyo")).toBe(local("2028-03-01T08:30:00"));
  });

  it("places an ordinary reading", () => {
    expect(new Date(fromLocalMs(local("2026-01-15T09:00:00"), "America/New_York")).toISOString()).toBe(
      "2026-01-15T14:00:00.000Z",
    );
  });

  it("places a repeated reading at its first occurrence", () => {
    expect(new Date(fromLocalMs(local("2026-11-01T01:30:00"), "America/New_York")).toISOString()).toBe(
      "2026-11-01T05:30:00.000Z",
    );
  });

  it("moves a reading inside a gap forward by the gap's length", () => {
    expect(new Date(fromLocalMs(local("2026-03-08T02:30:00"), "America/New_York")).toISOString()).toBe(
      "2026-03-08T07:30:00.000Z",
    );
  });

  it("knows IANA names and refuses offsets and nonsense", () => {
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Europe/Berlin")).toBe(true);
    expect(isValidTimeZone("Etc/GMT+5")).toBe(true);
    expect(isValidTimeZone("+02:00")).toBe(false);
    expect(isValidTimeZone("Europe/Nowhere")).toBe(false);
  });

  it("parses ISO date-times with and without offsets", () => {
    expect(parseIsoDateTime("2026-01-01T09:00:00+02:00")).toEqual({
      kind: "instant",
      utcMs: Date.parse("2026-01-01T07:00:00Z"),
    });
    expect(parseIsoDateTime("2026-01-01T09:00:00.250Z")).toEqual({
      kind: "instant",
      utcMs: Date.parse("2026-01-01T09:00:00.250Z"),
    });
    expect(parseIsoDateTime("2026-01-01")).toEqual({ kind: "local", localMs: local("2026-01-01T00:00:00") });
    expect(parseIsoDateTime("2028-02-29T00:00")).toEqual({ kind: "local", localMs: local("2028-02-29T00:00:00") });
    expect(parseIsoDateTime("2026-02-29T00:00")).toBeUndefined();
    expect(parseIsoDateTime("2026-13-01")).toBeUndefined();
  });
});
