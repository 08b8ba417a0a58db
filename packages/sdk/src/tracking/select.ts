// Which tracker records runs started in this process. Selection lives in resolveTracker() alone.
import { createApiClient, resolveConnectionSync } from "@flowplane/client";
import { ApiTracker } from "./api-tracker.ts";
import { LocalTracker } from "./local-tracker.ts";
import type { Tracker } from "./tracker.ts";

let explicit: Tracker | undefined;
let resolved: Tracker | undefined;

/**
 * The tracker to use when none was set explicitly: the control plane when an API URL and key are
 * configured (FLOWPLANE_API_URL/FLOWPLANE_API_KEY or the local profile), else this process only.
 */
export function resolveTracker(): Tracker {
  const connection = resolveConnectionSync();
  return connection ? new ApiTracker(createApiClient(connection)) : new LocalTracker();
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
