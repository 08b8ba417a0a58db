/**
 * When a deployment runs on its own. Times are read on `timezone`'s clock (default UTC).
 *
 * - `cron`: 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, or a
 *   nickname such as `@daily`; evaluated by croner, whose DST rules we inherit (see cron.ts).
 * - `interval`: every `intervalSeconds`, aligned to `anchorDate` (default 2020-01-01T00:00:00 on
 *   the schedule's clock). An anchor without an offset is read in `timezone`.
 * - `rrule`: an RFC 5545 subset (see rrule.ts).
 */
export type ScheduleSpec =
  | { kind: "cron"; cron: string; timezone?: string }
  | { kind: "interval"; intervalSeconds: number; anchorDate?: string; timezone?: string }
  | { kind: "rrule"; rrule: string; timezone?: string };

export type ScheduleKind = ScheduleSpec["kind"];

/** One problem with a schedule, `path` naming the offending field (`cron`, `intervalSeconds`…). */
export interface ScheduleIssue {
  path: string;
  message: string;
}

export type ScheduleErrorCode =
  /** The spec failed validation; `issues` says why. */
  | "INVALID_SCHEDULE"
  /** A Date argument was invalid, a limit negative, or a window ended before it began. */
  | "INVALID_ARGUMENT"
  /** A window holds more slots than the caller allowed (a backfill too large to create). */
  | "TOO_MANY_SLOTS";

export class ScheduleError extends Error {
  override readonly name = "ScheduleError";
  constructor(
    readonly code: ScheduleErrorCode,
    message: string,
    readonly issues: readonly ScheduleIssue[] = [],
  ) {
    super(message);
  }
}

/** A validated schedule ready to produce slot times. */
export interface CompiledSchedule {
  spec: ScheduleSpec;
  /** Slot times in epoch milliseconds, increasing, each strictly after `afterMs`. */
  slotsAfter(afterMs: number): Iterator<number, undefined>;
}

/** Latest epoch millisecond a Date can hold; schedules stop there rather than produce NaN. */
export const MAX_DATE_MS = 8.64e15;
