// Futures as inputs. A task's arguments (top level) and its `waitFor` list may hold futures of
// other task runs: the run waits for them, records them as its upstream edges, and receives their
// values. A flow's return value (top level, or the elements of a returned array) is resolved the
// same way, so a flow that returns a failed future fails. Only those positions are inspected:
// walking every nested structure would cost each call time proportional to its arguments' size.
import type { State } from "@flowplane/core";
import { isAllowedFailure, isTaskFuture, type TaskFutureImpl } from "../future.ts";
import type { WaitFor } from "../options.ts";

/** The futures an input list refers to; `edges` are their task run ids, first mention first. */
export interface Upstream {
  readonly futures: TaskFutureImpl<unknown>[];
  readonly edges: string[];
}

export function collectUpstream(args: readonly unknown[], waitFor: WaitFor | undefined): Upstream {
  const futures: TaskFutureImpl<unknown>[] = [];
  const add = (value: unknown): void => {
    const future = isAllowedFailure(value) ? value.future : isTaskFuture(value) ? value : undefined;
    if (future !== undefined && !futures.includes(future)) futures.push(future);
  };
  for (const arg of args) add(arg);
  for (const w of waitFor ?? []) add(w);
  return { futures, edges: futures.map((f) => f.id) };
}

/** Settles once every upstream run has (never rejects). */
export function upstreamSettled(upstream: Upstream): Promise<unknown> {
  return Promise.all(upstream.futures.map((f) => f.settled()));
}

/** An upstream run failed and the downstream did not allow it. */
export interface UpstreamFailure {
  taskRunId: string;
  state: State;
  error: unknown;
}

/**
 * After upstreamSettled: the first upstream failure that was not allowed (arguments and waitFor
 * alike), or the arguments with every future replaced by its value (`undefined` for an allowed
 * failure).
 */
export function resolveArgs(
  args: readonly unknown[],
  waitFor: WaitFor | undefined,
): { ok: true; args: unknown[] } | { ok: false; failure: UpstreamFailure } {
  for (const value of [...args, ...(waitFor ?? [])]) {
    if (isTaskFuture(value) && value.outcome?.ok === false) {
      return { ok: false, failure: { taskRunId: value.id, state: value.state, error: value.outcome.error } };
    }
  }
  return {
    ok: true,
    args: args.map((value) => {
      if (isAllowedFailure(value)) return value.future.outcome?.ok ? value.future.outcome.value : undefined;
      if (isTaskFuture(value)) return value.outcome?.ok ? value.outcome.value : undefined;
      return value;
    }),
  };
}

/** A flow's return value with returned futures replaced by their values; throws a failed one's error. */
export async function resolveReturned(value: unknown): Promise<unknown> {
  const one = async (v: unknown): Promise<unknown> => (isTaskFuture(v) ? v.result() : v);
  if (isTaskFuture(value)) return value.result();
  if (Array.isArray(value) && value.some(isTaskFuture)) {
    // Every future settles before the first failure is thrown, so none is left running unseen.
    const settled = await Promise.allSettled(value.map(one));
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
  }
  return value;
}
