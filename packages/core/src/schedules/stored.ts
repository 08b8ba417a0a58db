import type { ScheduleSpec } from "./types.ts";

/**
 * A schedule as the database stores it and the API returns it: its kind (any case) and one column
 * per kind, null where the kind does not use it.
 */
export interface StoredSchedule {
  kind: string;
  cron: string | null;
  intervalSeconds: number | null;
  anchorDate: string | null;
  rrule: string | null;
  timezone: string;
}

/** The spec of a stored schedule; null when the column its kind needs is empty. */
export function specOfStored(s: StoredSchedule): ScheduleSpec | null {
  const timezone = s.timezone ? { timezone: s.timezone } : {};
  switch (s.kind.toLowerCase()) {
    case "cron":
      return s.cron ? { kind: "cron", cron: s.cron, ...timezone } : null;
    case "interval":
      return s.intervalSeconds
        ? {
            kind: "interval",
            intervalSeconds: s.intervalSeconds,
            ...(s.anchorDate ? { anchorDate: s.anchorDate } : {}),
            ...timezone,
          }
        : null;
    case "rrule":
      return s.rrule ? { kind: "rrule", rrule: s.rrule, ...timezone } : null;
    default:
      return null;
  }
}
