/**
 * Schedule math: which times a deployment's schedule names, in words, and the keys that make one
 * run per slot. Pure; the scheduler service and the CLI do the I/O.
 *
 * ```ts
 * const v = validateSchedule({ kind: "cron", cron: "30 9 * * MON-FRI", timezone: "Europe/Berlin" });
 * if (v.ok) {
 *   nextSlots(v.spec, new Date(), { limit: 3 }); // the next three 09:30s, Berlin time, as UTC Dates
 *   describeSchedule(v.spec);                    // "at 09:30 on Monday through Friday (Europe/Berlin)"
 * }
 * ```
 */
export type { ScheduleSpec, ScheduleKind, ScheduleIssue, ScheduleErrorCode } from "./types.ts";
export { ScheduleError } from "./types.ts";
export { validateSchedule, type ScheduleValidation } from "./validate.ts";
export { nextSlots, slotsBetween } from "./slots.ts";
export { describeSchedule } from "./describe.ts";
export { specOfStored, type StoredSchedule } from "./stored.ts";
export { scheduleSlotKey, partitionKeyFor } from "./keys.ts";
export { isValidTimeZone } from "./timezone.ts";
