// Retry delays, shared by in-process task retries and the local tracker's flow-retry decision
// (which must match what the control plane would decide).

export interface ExponentialBackoff {
  kind: "exponential";
  baseSeconds: number;
  maxSeconds?: number;
}

/** Seconds to wait before each retry: one value, one per retry (the last repeats), or a backoff. */
export type RetryDelay = number | readonly number[] | ExponentialBackoff;

export interface RetryPolicy {
  retries: number;
  retryDelaySeconds?: RetryDelay | undefined;
  retryJitterFactor?: number | undefined;
}

/** Delay doubling on each retry: base, 2·base, 4·base… capped at `maxSeconds` when given. */
export function exponentialBackoff(baseSeconds: number, maxSeconds?: number): ExponentialBackoff {
  return maxSeconds === undefined
    ? { kind: "exponential", baseSeconds }
    : { kind: "exponential", baseSeconds, maxSeconds };
}

/**
 * Seconds to wait before retry number `retry` (1 = the first retry).
 *
 * Jitter spreads the delay uniformly over [d·(1−f), d·(1+f)]: the mean stays d, so the
 * schedule the user configured holds on average while simultaneous failures (a thundering herd
 * against one API) stop retrying in lockstep.
 */
export function retryDelaySeconds(policy: Omit<RetryPolicy, "retries">, retry: number, random: () => number = Math.random): number {
  const base = baseDelay(policy.retryDelaySeconds, retry);
  const f = policy.retryJitterFactor;
  if (!f || f <= 0 || base <= 0) return base;
  return Math.max(0, base * (1 + f * (2 * random() - 1)));
}

function baseDelay(delay: RetryDelay | undefined, retry: number): number {
  if (delay === undefined) return 0;
  if (typeof delay === "number") return Math.max(0, delay);
  if (isBackoff(delay)) {
    const d = delay.baseSeconds * 2 ** Math.max(0, retry - 1);
    return Math.max(0, delay.maxSeconds === undefined ? d : Math.min(d, delay.maxSeconds));
  }
  if (delay.length === 0) return 0;
  return Math.max(0, delay[Math.min(retry, delay.length) - 1] ?? 0);
}

function isBackoff(d: readonly number[] | ExponentialBackoff): d is ExponentialBackoff {
  return !Array.isArray(d);
}
