// Schedules as the API returns them, in words and as upcoming slots — the same words the CLI
// prints, since both come from @flowplane/core.
import { describeSchedule, nextSlots, type ScheduleSpec } from "@flowplane/core";

export interface ScheduleRow {
  kind: string;
  cron: string | null;
  intervalSeconds: number | null;
  anchorDate: string | null;
  rrule: string | null;
  timezone: string;
  active: boolean;
}

export function toSpec(s: ScheduleRow): ScheduleSpec | null {
  const timezone = s.timezone || undefined;
  if (s.kind === "cron" && s.cron) return { kind: "cron", cron: s.cron, ...(timezone ? { timezone } : {}) };
  if (s.kind === "interval" && s.intervalSeconds)
    return {
      kind: "interval",
      intervalSeconds: s.intervalSeconds,
      ...(s.anchorDate ? { anchorDate: s.anchorDate } : {}),
      ...(timezone ? { timezone } : {}),
    };
  if (s.kind === "rrule" && s.rrule) return { kind: "rrule", rrule: s.rrule, ...(timezone ? { timezone } : {}) };
  return null;
}

export function scheduleInWords(s: ScheduleRow): string {
  const spec = toSpec(s);
  if (!spec) return `${s.kind} schedule`;
  try {
    return describeSchedule(spec);
  } catch {
    return s.cron ?? s.rrule ?? `every ${s.intervalSeconds} s`;
  }
}

export function upcomingSlots(s: ScheduleRow, count: number, after = new Date()): Date[] {
  const spec = toSpec(s);
  if (!spec) return [];
  try {
    return nextSlots(spec, after, { limit: count });
  } catch {
    return [];
  }
}
