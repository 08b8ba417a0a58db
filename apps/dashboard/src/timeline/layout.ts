// Timeline layout: task runs (and sub-flow runs) placed on lanes along a time axis. Pure and
// allocation-light, because a run can have tens of thousands of task runs and the page must draw
// them in well under a second; the canvas only draws what the view shows (see draw.ts).

export interface TimelineInputRow {
  id: string;
  name: string;
  stateType: string;
  stateName: string;
  runCount: number;
  startTime: string | null;
  endTime: string | null;
  createdAt: string;
  subflowRunId: string | null;
}

export interface TimelineItem {
  id: string;
  name: string;
  stateType: string;
  stateName: string;
  runCount: number;
  /** ms since epoch; for a task run that has not started, when it was created. */
  start: number;
  /** ms since epoch; NaN while still running (drawn up to now). */
  end: number;
  started: boolean;
  subflowRunId: string | null;
  lane: number;
}

/**
 * `rows`: one lane per task run (readable for small runs); `packed`: a task run reuses the first
 * lane that is free by its start (an overview for large fan-outs).
 */
export type LayoutMode = "rows" | "packed";

export interface TimelineLayout {
  mode: LayoutMode;
  items: TimelineItem[];
  /** Per lane, the indexes into `items` in start order (their intervals do not overlap in packed mode). */
  lanes: Int32Array[];
  minTime: number;
  /** Latest known end; running items extend this to "now" at draw time. */
  maxTime: number;
  running: number;
}

export const ROWS_MODE_LIMIT = 500;

export function defaultMode(count: number): LayoutMode {
  return count <= ROWS_MODE_LIMIT ? "rows" : "packed";
}

export function layoutTimeline(rows: readonly TimelineInputRow[], mode: LayoutMode): TimelineLayout {
  const n = rows.length;
  const items: TimelineItem[] = new Array<TimelineItem>(n);
  let minTime = Infinity;
  let maxTime = -Infinity;
  let running = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const started = r.startTime !== null;
    const start = Date.parse(r.startTime ?? r.createdAt);
    const end = r.endTime ? Date.parse(r.endTime) : started ? NaN : start;
    if (started && Number.isNaN(end)) running++;
    if (start < minTime) minTime = start;
    const last = Number.isNaN(end) ? start : end;
    if (last > maxTime) maxTime = last;
    items[i] = {
      id: r.id,
      name: r.name,
      stateType: r.stateType,
      stateName: r.stateName,
      runCount: r.runCount,
      start,
      end,
      started,
      subflowRunId: r.subflowRunId,
      lane: 0,
    };
  }
  // Stable sort by start, then by id (UUIDv7: creation order) for equal starts.
  items.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const laneLists: number[][] = [];
  if (mode === "rows") {
    for (let i = 0; i < n; i++) {
      items[i]!.lane = i;
      laneLists.push([i]);
    }
  } else {
    // Min-heap of (lane end, lane index): the lane that frees up first is the candidate.
    const heapEnd: number[] = [];
    const heapLane: number[] = [];
    const push = (end: number, lane: number) => {
      let i = heapEnd.length;
      heapEnd.push(end);
      heapLane.push(lane);
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heapEnd[p]! < heapEnd[i]! || (heapEnd[p] === heapEnd[i] && heapLane[p]! <= heapLane[i]!)) break;
        [heapEnd[p], heapEnd[i]] = [heapEnd[i]!, heapEnd[p]!];
        [heapLane[p], heapLane[i]] = [heapLane[i]!, heapLane[p]!];
        i = p;
      }
    };
    const pop = () => {
      const last = heapEnd.length - 1;
      [heapEnd[0], heapEnd[last]] = [heapEnd[last]!, heapEnd[0]!];
      [heapLane[0], heapLane[last]] = [heapLane[last]!, heapLane[0]!];
      heapEnd.pop();
      heapLane.pop();
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (
          l < heapEnd.length &&
          (heapEnd[l]! < heapEnd[m]! || (heapEnd[l] === heapEnd[m] && heapLane[l]! < heapLane[m]!))
        )
          m = l;
        if (
          r < heapEnd.length &&
          (heapEnd[r]! < heapEnd[m]! || (heapEnd[r] === heapEnd[m] && heapLane[r]! < heapLane[m]!))
        )
          m = r;
        if (m === i) break;
        [heapEnd[m], heapEnd[i]] = [heapEnd[i]!, heapEnd[m]!];
        [heapLane[m], heapLane[i]] = [heapLane[i]!, heapLane[m]!];
        i = m;
      }
    };
    for (let i = 0; i < n; i++) {
      const item = items[i]!;
      // A running item holds its lane until it ends; a zero-length one still needs a sliver.
      const end = Number.isNaN(item.end) ? Infinity : Math.max(item.end, item.start + 1);
      let lane: number;
      if (heapEnd.length > 0 && heapEnd[0]! <= item.start) {
        lane = heapLane[0]!;
        pop();
      } else {
        lane = laneLists.length;
        laneLists.push([]);
      }
      item.lane = lane;
      laneLists[lane]!.push(i);
      push(end, lane);
    }
  }
  if (n === 0) {
    minTime = NaN;
    maxTime = NaN;
  }
  return { mode, items, lanes: laneLists.map((l) => Int32Array.from(l)), minTime, maxTime, running };
}

/** Index in `lane` of the first item whose interval reaches `t` or later (ends are sorted in a lane). */
export function firstVisible(layout: TimelineLayout, lane: Int32Array, t: number, now: number): number {
  let lo = 0;
  let hi = lane.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const it = layout.items[lane[mid]!]!;
    const end = Number.isNaN(it.end) ? now : it.end;
    if (end < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The item under time `t` on `laneIndex`, within `slackMs` either side (thin bars stay clickable). */
export function itemAt(
  layout: TimelineLayout,
  laneIndex: number,
  t: number,
  slackMs: number,
  now: number,
): TimelineItem | null {
  const lane = layout.lanes[laneIndex];
  if (!lane) return null;
  let best: TimelineItem | null = null;
  let bestDist = Infinity;
  for (let i = firstVisible(layout, lane, t - slackMs, now); i < lane.length; i++) {
    const it = layout.items[lane[i]!]!;
    if (it.start > t + slackMs) break;
    const end = Number.isNaN(it.end) ? now : it.end;
    const dist = t < it.start ? it.start - t : t > end ? t - end : 0;
    if (dist < bestDist) {
      best = it;
      bestDist = dist;
    }
  }
  return best;
}

/** A tick step (ms) giving about `targetTicks` ticks over `spanMs`. */
export function tickStep(spanMs: number, targetTicks: number): number {
  const steps = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5,
    108e5, 216e5, 432e5, 864e5, 1728e5, 6048e5,
  ];
  const raw = spanMs / Math.max(1, targetTicks);
  for (const s of steps) if (s >= raw) return s;
  return steps[steps.length - 1]!;
}
