// Live updates. The server pushes hints ("run X changed") over the websocket; we turn them into
// refetches of what is on screen. Bursts are coalesced: the open run's own queries refetch within
// ~100 ms, lists at most once a second and the chart every five, so a busy workspace never floods
// the API. Only queries on screen refetch; the rest are just marked stale.
import type { QueryClient, QueryKey } from "@tanstack/react-query";
import type { LiveEvent } from "./client.ts";

type Listener = (event: LiveEvent) => void;

export class LiveHub {
  private readonly listeners = new Set<Listener>();

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: LiveEvent): void {
    for (const l of this.listeners) l(event);
  }
}

class Coalescer {
  private readonly pending = new Map<string, QueryKey>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlush = 0;

  constructor(
    private readonly queryClient: QueryClient,
    private readonly minGapMs: number,
    private readonly delayMs: number,
  ) {}

  add(key: QueryKey): void {
    this.pending.set(JSON.stringify(key), key);
    if (this.timer) return;
    const wait = Math.max(this.delayMs, this.lastFlush + this.minGapMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = null;
    this.lastFlush = Date.now();
    const keys = [...this.pending.values()];
    this.pending.clear();
    for (const queryKey of keys) void this.queryClient.invalidateQueries({ queryKey });
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

export function createInvalidator(queryClient: QueryClient): { handle(event: LiveEvent): void; dispose(): void } {
  const fast = new Coalescer(queryClient, 250, 100);
  const slow = new Coalescer(queryClient, 1000, 250);
  // The chart aggregates over a window of up to a million runs: a few seconds late is fine.
  const chart = new Coalescer(queryClient, 5000, 1000);
  return {
    handle(event) {
      switch (event.kind) {
        case "flow_run":
          fast.add(["flowRuns.get", { id: event.flowRunId }]);
          fast.add(["flowRuns.history", { id: event.flowRunId }]);
          fast.add(["artifacts.list", { flowRunId: event.flowRunId }]);
          slow.add(["flowRuns.list"]);
          chart.add(["flowRuns.counts"]);
          slow.add(["deployments.get"]);
          slow.add(["workPools"]);
          slow.add(["workers.list"]);
          break;
        case "task_runs":
          for (const flowRunId of event.flowRunIds) {
            fast.add(["taskRuns.list", { flowRunId }]);
            fast.add(["artifacts.list", { flowRunId }]);
          }
          break;
        case "logs":
          // The log view tails by cursor itself (see LogsPanel); nothing cached to invalidate.
          break;
        case "runs_ready":
        case "cancel_requested":
          slow.add(["workPools"]);
          break;
      }
    },
    dispose() {
      fast.dispose();
      slow.dispose();
      chart.dispose();
    },
  };
}
