import { z } from "zod";
import type { FlowplaneEvent } from "../services/events.ts";
import { readProcedure, router } from "../trpc.ts";
import { id } from "./schemas.ts";

/**
 * Live updates over the websocket: the caller's workspace only, optionally one flow run. Events
 * are hints ("run X changed"); clients refetch what they show, so a missed event only delays.
 */
export const eventsRouter = router({
  subscribe: readProcedure.input(z.object({ flowRunId: id.optional() }).optional()).subscription(async function* ({ ctx, input, signal }) {
    const queue: FlowplaneEvent[] = [];
    let wake: (() => void) | null = null;
    const unsubscribe = ctx.services.events.subscribe((event) => {
      if (event.workspaceId !== ctx.workspaceId) return;
      if (input?.flowRunId && !concerns(event, input.flowRunId)) return;
      queue.push(event);
      wake?.();
    });
    try {
      while (!signal?.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            signal?.addEventListener("abort", () => resolve(), { once: true });
          });
          wake = null;
        }
        while (queue.length > 0) yield queue.shift()!;
      }
    } finally {
      unsubscribe();
    }
  }),
});

function concerns(event: FlowplaneEvent, flowRunId: string): boolean {
  switch (event.kind) {
    case "flow_run":
    case "cancel_requested":
      return event.flowRunId === flowRunId;
    case "task_runs":
    case "logs":
      return event.flowRunIds.includes(flowRunId);
    case "runs_ready":
      return false;
  }
}
