// Interval schedules: anchor + k * interval, for every integer k (the anchor aligns the slots; it
// does not start them, so an anchor in the future still yields the slots before it).
//
// Like Prefect, intervals of 24 hours or more in a zone with DST step on the wall clock, so a daily
// run anchored at 09:00 Berlin stays at 09:00 across DST changes (23- and 25-hour days); shorter
// intervals step in elapsed time, so an hourly schedule keeps firing every 60 minutes through a
// clock change. Wall-clock slots in a spring-forward gap move forward by the gap's length.
import { fromLocalMs, isUtc, toLocalMs } from "./timezone.ts";
import { MAX_DATE_MS } from "./types.ts";

export const DEFAULT_INTERVAL_ANCHOR = "2020-01-01T00:00:00";

const DAY_MS = 86_400_000;

export function intervalSlots(
  intervalSeconds: number,
  anchorUtcMs: number,
  timezone: string | undefined,
): (afterMs: number) => Iterator<number, undefined> {
  const stepMs = intervalSeconds * 1000;
  if (stepMs < DAY_MS || isUtc(timezone) || timezone === undefined) {
    return function* (afterMs) {
      let k = Math.floor((afterMs - anchorUtcMs) / stepMs) + 1;
      for (;;) {
        const slot = anchorUtcMs + k * stepMs;
        if (slot > MAX_DATE_MS) return undefined;
        if (slot > afterMs) yield slot;
        k++;
      }
    };
  }
  const zone = timezone;
  const anchorLocal = toLocalMs(anchorUtcMs, zone);
  return function* (afterMs) {
    // One step back so an offset change between the two readings cannot skip a slot.
    let k = Math.floor((toLocalMs(afterMs, zone) - anchorLocal) / stepMs) - 1;
    for (;;) {
      const local = anchorLocal + k * stepMs;
      if (local > MAX_DATE_MS - DAY_MS) return undefined;
      const slot = fromLocalMs(local, zone);
      if (slot > afterMs) yield slot;
      k++;
    }
  };
}
