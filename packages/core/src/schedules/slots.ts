import { compileSchedule } from "./validate.ts";
import { ScheduleError, type CompiledSchedule, type ScheduleSpec } from "./types.ts";

function compileOrThrow(spec: ScheduleSpec): CompiledSchedule {
  const r = compileSchedule(spec);
  if (r.ok) return r.compiled;
  const detail = r.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join("; ");
  throw new ScheduleError("INVALID_SCHEDULE", `invalid schedule: ${detail}`, r.errors);
}

function checkDate(name: string, d: Date): number {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (Number.isNaN(ms)) throw new ScheduleError("INVALID_ARGUMENT", `${name} must be a valid Date`);
  return ms;
}

/**
 * Up to `limit` slot times strictly after `after`, in order, none later than `until`.
 * Throws ScheduleError (INVALID_SCHEDULE, INVALID_ARGUMENT).
 */
export function nextSlots(spec: ScheduleSpec, after: Date, options: { until?: Date; limit: number }): Date[] {
  const afterMs = checkDate("after", after);
  const untilMs = options.until === undefined ? Infinity : checkDate("until", options.until);
  if (!Number.isInteger(options.limit) || options.limit < 0) {
    throw new ScheduleError("INVALID_ARGUMENT", `limit must be a non-negative integer (got ${options.limit})`);
  }
  const compiled = compileOrThrow(spec);
  const slots: Date[] = [];
  if (options.limit === 0 || untilMs <= afterMs) return slots;
  const it = compiled.slotsAfter(afterMs);
  while (slots.length < options.limit) {
    const n = it.next();
    if (n.done || n.value > untilMs) break;
    slots.push(new Date(n.value));
  }
  return slots;
}

/**
 * Every slot in [from, to) — the window of a backfill. Throws ScheduleError TOO_MANY_SLOTS when the
 * window holds more than `max` slots, so a mistyped year cannot create a million runs, and
 * INVALID_ARGUMENT when `to` is before `from`.
 */
export function slotsBetween(spec: ScheduleSpec, from: Date, to: Date, max: number): Date[] {
  const fromMs = checkDate("from", from);
  const toMs = checkDate("to", to);
  if (toMs < fromMs) {
    throw new ScheduleError(
      "INVALID_ARGUMENT",
      `the window ends (${to.toISOString()}) before it starts (${from.toISOString()})`,
    );
  }
  if (!Number.isInteger(max) || max < 0) {
    throw new ScheduleError("INVALID_ARGUMENT", `max must be a non-negative integer (got ${max})`);
  }
  // Date has millisecond resolution, so "after from - 1 ms" includes from and "until to - 1 ms"
  // excludes to.
  const slots = nextSlots(spec, new Date(fromMs - 1), { until: new Date(toMs - 1), limit: max + 1 });
  if (slots.length > max) {
    throw new ScheduleError(
      "TOO_MANY_SLOTS",
      `the window ${from.toISOString()} – ${to.toISOString()} holds more than ${max} slots; narrow it or raise the limit`,
    );
  }
  return slots;
}
