// Schedules as the API returns them, in words and as upcoming slots — the same words the CLI
// prints, since both come from @flowplane/core.
import { describeSchedule, nextSlots, specOfStored, type StoredSchedule } from "@flowplane/core";

export interface ScheduleRow extends StoredSchedule {
  active: boolean;
}

export function scheduleInWords(s: ScheduleRow): string {
  const spec = specOfStored(s);
  if (!spec) return `${s.kind} schedule`;
  try {
    return describeSchedule(spec);
  } catch {
    return s.cron ?? s.rrule ?? `every ${s.intervalSeconds} s`;
  }
}

export function upcomingSlots(s: ScheduleRow, count: number, after = new Date()): Date[] {
  const spec = specOfStored(s);
  if (!spec) return [];
  try {
    return nextSlots(spec, after, { limit: count });
  } catch {
    return [];
  }
}
