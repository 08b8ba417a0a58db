import { z } from "zod";
import { ApiError } from "../errors.ts";
import type { FlowplaneEvent } from "../services/events.ts";
import { readProcedure, router } from "../trpc.ts";
import { id } from "./schemas.ts";

/**
 * Live updates over the websocket: the caller's workspace only, optionally one flow run. Events
 * are hints ("run X changed"); clients refetch what they show, so a missed event only delays.
 */
export const eventsRouter = router({
  subscribe: readProcedure.input(z.object({ flowRunId: id.optional() }).optional()).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    const queue: FlowplaneEvent[] = [];
    let wake: (() => void) | null = null;
    const unsubscribe = ctx.services.events.subscribe((event) => {
      if (event.workspaceId !== ctx.workspaceId) return;
      if (input?.flowRunId && !concerns(event, input.flowRunId)) return;
      queue.push(event);
      wake?.();
    });
    // One abort listener for the subscription's life (one per wait would pile up on a long-lived socket).
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal?.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
        // The key checked when the subscription opened may since have been revoked (or the session
        // expired): check again before delivering, so a revoked key stops seeing events (within the
        // authenticator's cache TTL) instead of streaming until the socket closes.
        if (queue.length > 0) {
          const auth = await ctx.services.authenticator.authenticate(ctx.credential);
          if (!auth.ok) throw new ApiError("UNAUTHENTICATED", auth.reason);
        }
        while (queue.length > 0) yield queue.shift()!;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
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
