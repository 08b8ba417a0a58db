// Cron schedules, evaluated by croner 11.
//
// DST follows croner's documented rules (Vixie cron's, the same as croner-rust):
// - fixed-time jobs (a single value in each of seconds, minutes and hours, e.g. `30 2 * * *`) run
//   once when a time occurs twice, at its first occurrence, and run at the first valid time after a
//   spring-forward gap, on the same day;
// - interval jobs (a wildcard, step, range or list there, e.g. `*/30 * * * *`) run on both
//   occurrences of a repeated time and skip times inside a gap.
import { Cron } from "croner";
import type { ScheduleIssue } from "./types.ts";

export const CRON_NICKNAMES: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** Slots from a parsed cron expression; `timezone` undefined means UTC, never the host's zone. */
export function compileCron(
  expression: string,
  timezone: string | undefined,
): { ok: true; slotsAfter: (afterMs: number) => Iterator<number, undefined> } | { ok: false; issue: ScheduleIssue } {
  let expr = expression.trim();
  if (expr.startsWith("@")) {
    expr = expr.toLowerCase();
    if (!Object.hasOwn(CRON_NICKNAMES, expr)) {
      return {
        ok: false,
        issue: {
          path: "cron",
          message: `unknown nickname "${expr}" (known: ${Object.keys(CRON_NICKNAMES).join(", ")})`,
        },
      };
    }
  } else {
    // croner also reads 7 fields (a year) and ISO date strings (run once); neither is a schedule
    // we want to store, so the shape is checked before croner sees it.
    const fields = expr.split(/\s+/).filter(Boolean).length;
    if (fields !== 5 && fields !== 6) {
      return {
        ok: false,
        issue: {
          path: "cron",
          message: `invalid cron expression "${expression}": expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got ${fields}`,
        },
      };
    }
  }
  let cron: Cron;
  try {
    cron = new Cron(expr, { timezone: timezone ?? "UTC", mode: "5-or-6-parts", paused: true });
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/^CronPattern:\s*/, "") : String(e);
    return { ok: false, issue: { path: "cron", message: `invalid cron expression "${expression}": ${reason}` } };
  }
  return {
    ok: true,
    slotsAfter: function* (afterMs: number) {
      let prev = new Date(afterMs);
      for (;;) {
        const next = cron.nextRun(prev);
        if (!next || next.getTime() <= prev.getTime()) return undefined;
        yield next.getTime();
        prev = next;
      }
    },
  };
}
