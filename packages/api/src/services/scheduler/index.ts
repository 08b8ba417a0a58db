// The scheduler's background loops, one file each: schedules (with catchup skips), backfill,
// late runs, collisions (cancel-new) and retention. apps/server runs them on timers.
export { scheduleRuns, defaultSchedulerConfig, type SchedulerConfig, type ScheduleResult } from "./schedules.ts";
export { backfillDeployment, type BackfillResult } from "./backfill.ts";
export { markLateRuns } from "./late-runs.ts";
export { cancelCollidingRuns } from "./collisions.ts";
export { pruneByRetention, type RetentionPolicy } from "./retention.ts";
