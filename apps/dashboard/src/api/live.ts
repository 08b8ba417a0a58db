// Live updates. The server pushes hints ("run X changed") over the websocket; we turn them into
// refetches of what is on screen. Bursts are coalesced: the open run's own queries refetch within
// ~100 ms, lists at most once a second and the chart every five, so a busy workspace never floods
// the API. Only queries on screen refetch; the rest are just marked stale.
import type { QueryClient, QueryFilters } from "@tanstack/react-query";
import type { TRPCOptionsProxy } from "@trpc/tanstack-react-query";
import type { AppRouter } from "@flowplane/api";
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
  private readonly pending = new Map<string, QueryFilters>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlush = 0;

  constructor(
    private readonly queryClient: QueryClient,
    private readonly minGapMs: number,
    private readonly delayMs: number,
  ) {}

  add(filter: QueryFilters): void {
    this.pending.set(JSON.stringify(filter.queryKey), filter);
    if (this.timer) return;
    const wait = Math.max(this.delayMs, this.lastFlush + this.minGapMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = null;
    this.lastFlush = Date.now();
    const filters = [...this.pending.values()];
    this.pending.clear();
    for (const filter of filters) void this.queryClient.invalidateQueries(filter);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/**
 * Turns live events into invalidations. The filters come from tRPC's own query keys
 * (`queryFilter(input)` matches queries whose input contains that input; `pathFilter()` every
 * query of a procedure or router), so they match exactly what the pages' `queryOptions()` cached.
 */
export function createInvalidator(
  queryClient: QueryClient,
  trpc: TRPCOptionsProxy<AppRouter>,
): { handle(event: LiveEvent): void; dispose(): void } {
  const fast = new Coalescer(queryClient, 250, 100);
  const slow = new Coalescer(queryClient, 1000, 250);
  // The chart aggregates over a window of up to a million runs: a few seconds late is fine.
  const chart = new Coalescer(queryClient, 5000, 1000);
  return {
    handle(event) {
      switch (event.kind) {
        case "flow_run":
          fast.add(trpc.flowRuns.get.queryFilter({ id: event.flowRunId }));
          fast.add(trpc.flowRuns.history.queryFilter({ id: event.flowRunId }));
          fast.add(trpc.artifacts.list.queryFilter({ flowRunId: event.flowRunId }));
          slow.add(trpc.flowRuns.list.pathFilter());
          chart.add(trpc.flowRuns.counts.pathFilter());
          slow.add(trpc.deployments.get.pathFilter());
          slow.add(trpc.workPools.pathFilter());
          slow.add(trpc.workers.list.pathFilter());
          break;
        case "task_runs":
          for (const flowRunId of event.flowRunIds) {
            fast.add(trpc.taskRuns.list.queryFilter({ flowRunId }));
            fast.add(trpc.artifacts.list.queryFilter({ flowRunId }));
          }
          // The event names runs, not task runs: an open task run's history refetches with them.
          fast.add(trpc.taskRuns.history.pathFilter());
          break;
        case "logs":
          // The log view tails by cursor itself (see LogsPanel); nothing cached to invalidate.
          break;
        case "runs_ready":
        case "cancel_requested":
          slow.add(trpc.workPools.pathFilter());
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
