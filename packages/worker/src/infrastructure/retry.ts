// Retrying a platform call that failed for a reason that passes (throttling, capacity, a 5xx, an
// expired credential being refreshed): exponential backoff with jitter (each delay drawn from the
// upper half of its ceiling), so workers throttled together do not retry together, for a bounded
// time, after which the last error is thrown wrapped in RetriesExhausted.
import { sleep } from "./job-configuration.ts";
import { InfrastructureError, type JobSpec } from "./types.ts";

export interface RetryOptions {
  /** Whether the error may pass on its own; anything else is thrown at once. */
  transient(err: unknown): boolean;
  /** How long to keep retrying, from the first attempt (ms). */
  forMs: number;
  /** First backoff ceiling (default 200 ms); it doubles per attempt up to `maxDelayMs`. */
  initialDelayMs?: number;
  /** Largest backoff ceiling (default 10 s). */
  maxDelayMs?: number;
  /** Told about each retry, e.g. to note it on the run. */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
  /** Stops retrying (the last error is thrown) once it returns true. */
  abandoned?(): boolean;
  /** Stops retrying at once when aborted, also in the middle of a backoff delay. */
  signal?: AbortSignal;
}

/** The error `withRetries` throws when the bound passed: the last error, and how long it tried. */
export class RetriesExhausted extends Error {
  override name = "RetriesExhausted";
  constructor(
    readonly last: unknown,
    readonly attempts: number,
    readonly elapsedMs: number,
  ) {
    super(last instanceof Error ? last.message : String(last));
  }
}

export async function withRetries<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const started = Date.now();
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!options.transient(err)) throw err;
      const elapsed = Date.now() - started;
      const ceiling = Math.min(max, initial * 2 ** (attempt - 1));
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      if (elapsed + delay > options.forMs || options.abandoned?.() || options.signal?.aborted)
        throw new RetriesExhausted(err, attempt, elapsed);
      options.onRetry?.(err, attempt, delay);
      await (options.signal ? abortableSleep(delay, options.signal) : sleep(delay));
      if (options.signal?.aborted) throw new RetriesExhausted(err, attempt, Date.now() - started);
    }
  }
}

/** `ms`, or less if `signal` aborts first. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** The error behind `err` (the last one when retries ran out), and " (retried for N s)" then. */
export function causeOf(err: unknown): { cause: unknown; retried: string } {
  if (err instanceof RetriesExhausted)
    return { cause: err.last, retried: ` (retried for ${Math.round(err.elapsedMs / 1000)} s)` };
  return { cause: err, retried: "" };
}

/** How a pool retries its platform's calls: which errors pass, for how long, from which delay. */
export interface PlatformRetries {
  transient(err: unknown): boolean;
  forMs: number;
  initialDelayMs: number;
  /** The platform's words for an error. */
  describe(err: unknown): string;
}

/** `call` retried under `policy`; each retry is told to `onEvent` as "WHAT: ERROR; retry N in S s". */
export function retryCall<T>(
  policy: PlatformRetries,
  what: string,
  call: () => Promise<T>,
  onEvent?: (message: string) => void,
): Promise<T> {
  return withRetries(call, {
    transient: policy.transient,
    forMs: policy.forMs,
    initialDelayMs: policy.initialDelayMs,
    onRetry: (err, attempt, delay) =>
      onEvent?.(`${what}: ${policy.describe(err)}; retry ${attempt} in ${(delay / 1000).toFixed(1)} s`),
  });
}

/**
 * How long a watch loop's look at its job has been failing. A failed look (throttling, a 5xx, the
 * API server restarting) says nothing about the job, so the loop keeps watching for `lostAfterMs`,
 * and for as long after that as the runner still heartbeats; only then is the job lost.
 */
export class FailingLooks {
  private since: number | null = null;
  constructor(private readonly lostAfterMs: number) {}

  /** A look succeeded: the next failure starts a new count. */
  succeeded(): void {
    this.since = null;
  }

  /**
   * A look (`what`, e.g. "ECS DescribeTasks") failed with `error`: true while the loop should keep
   * watching, false once the job is lost.
   */
  async keepWatching(job: Pick<JobSpec, "runnerAlive" | "onEvent">, what: string, error: string): Promise<boolean> {
    this.since ??= Date.now();
    if (Date.now() - this.since < this.lostAfterMs) return true;
    if (await job.runnerAlive?.().catch(() => false)) {
      job.onEvent?.(
        `${what} has failed for ${Math.round((Date.now() - this.since) / 1000)} s (${error}); the runner still heartbeats, so the worker keeps watching`,
      );
      this.since = Date.now();
      return true;
    }
    return false;
  }
}

/**
 * After a stop request: looks every `intervalMs` until `stopped` says what it saw has stopped, for at
 * most `forMs`; then throws a transient InfrastructureError saying, through `stillRunning`, what was
 * last seen (the worker tries the stop again later).
 */
export async function waitUntilStopped<T>(
  look: () => Promise<T>,
  stopped: (seen: T) => boolean,
  options: { forMs: number; intervalMs: number; stillRunning: (seen: T, seconds: number) => string },
): Promise<void> {
  const deadline = Date.now() + options.forMs;
  for (;;) {
    const seen = await look();
    if (stopped(seen)) return;
    if (Date.now() > deadline)
      throw new InfrastructureError(options.stillRunning(seen, Math.round(options.forMs / 1000)), true);
    await sleep(options.intervalMs);
  }
}
