// Tenant fairness: a bounded number of authenticated requests execute at once (about the size of
// the database pool), and when they are all busy the next free slot goes to the workspaces that are
// waiting in turn, not to whoever queued first. One workspace flooding from a hundred connections
// then fills only its own queue: another workspace's request waits for one slot to free, never for
// the flood to drain. A single workspace alone still gets every slot.
import { ApiError } from "../errors.ts";

export interface FairnessLimits {
  /** Requests executing at once across all workspaces. */
  concurrency: number;
  /** Requests one workspace may have waiting; past it the workspace is answered RATE_LIMITED. */
  maxQueuedPerWorkspace: number;
}

export class FairScheduler {
  private running = 0;
  /** Waiting requests per workspace; Map order is the round-robin order (served ones move last). */
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(private readonly limits: FairnessLimits) {}

  async run<T>(workspaceId: string, work: () => Promise<T>): Promise<T> {
    if (this.running < this.limits.concurrency && this.waiting.size === 0) this.running++;
    else await this.enqueue(workspaceId);
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Requests executing and waiting, for metrics and tests. */
  get load(): { running: number; waiting: number } {
    let waiting = 0;
    for (const queue of this.waiting.values()) waiting += queue.length;
    return { running: this.running, waiting };
  }

  private enqueue(workspaceId: string): Promise<void> {
    const queue = this.waiting.get(workspaceId) ?? [];
    if (queue.length >= this.limits.maxQueuedPerWorkspace)
      throw new ApiError("RATE_LIMITED", `this workspace has ${queue.length} requests waiting; retry in 100 ms`, {
        retryAfterMs: 100,
      });
    this.waiting.set(workspaceId, queue);
    return new Promise((resolve) => queue.push(resolve));
  }

  /** Hands the finished request's slot to the next waiting workspace in turn, or frees it. */
  private release(): void {
    const next = this.waiting.entries().next();
    if (next.done) {
      this.running--;
      return;
    }
    const [workspaceId, queue] = next.value;
    const wake = queue.shift()!;
    // Re-inserting moves the workspace to the end of the round-robin order.
    this.waiting.delete(workspaceId);
    if (queue.length > 0) this.waiting.set(workspaceId, queue);
    wake();
  }
}
