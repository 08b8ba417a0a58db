// Which tracker records runs started in this process. Selection lives in resolveTracker() alone,
// so adding the control-plane tracker (API URL + key configured → ApiTracker) is a one-place change.
import { LocalTracker } from "./local-tracker.ts";
import type { Tracker } from "./tracker.ts";

let explicit: Tracker | undefined;
let resolved: Tracker | undefined;

/** The tracker to use when none was set explicitly. */
export function resolveTracker(): Tracker {
  return new LocalTracker();
}

/**
 * Makes `tracker` record every flow run started from now on (runs already executing keep theirs).
 * Pass undefined to return to the default.
 */
export function setTracker(tracker: Tracker | undefined): void {
  explicit = tracker;
}

export function getTracker(): Tracker {
  return explicit ?? (resolved ??= resolveTracker());
}
