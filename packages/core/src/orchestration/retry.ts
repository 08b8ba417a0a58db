// How long a failed run waits before its next attempt.

/**
 * Delay before a retry, in seconds:
 * - a number: the same delay before every retry;
 * - a list: entry i before retry i+1, the last entry repeated once the list runs out;
 * - exponential: `baseSeconds * 2^(retry - 1)`, capped at `maxSeconds` when given.
 */
export type RetryDelay = number | number[] | { kind: "exponential"; baseSeconds: number; maxSeconds?: number };

export interface RetryPolicy {
  /** Retries allowed after the first attempt; 0 means a failure is final. */
  retries: number;
  retryDelaySeconds?: RetryDelay;
  /** Spreads each delay over `[d * (1 - j), d * (1 + j)]`; see {@link retryDelayMs}. */
  retryJitterFactor?: number;
}

/**
 * Ceiling on any single retry delay. An uncapped exponential overflows quickly (2^60 seconds), and
 * `now + delay` must stay a valid Date; no real retry waits anywhere near a year.
 */
export const MAX_RETRY_DELAY_SECONDS = 365 * 24 * 60 * 60;

export function exponentialBackoff(
  baseSeconds: number,
  maxSeconds?: number,
): { kind: "exponential"; baseSeconds: number; maxSeconds?: number } {
  return maxSeconds === undefined
    ? { kind: "exponential", baseSeconds }
    : { kind: "exponential", baseSeconds, maxSeconds };
}

/**
 * Milliseconds to wait before retry number `attempt` (1 = the first retry).
 *
 * Jitter: Prefect draws from an exponential (Poisson-interval) distribution clamped to
 * `[d * (1 - j), d * (1 + j)]`, which skews the mean below `d`. We draw uniformly from the same
 * interval instead: the mean stays `d`, the bounds are the same, and one call to `random` makes the
 * result exact to test. The lower bound is floored at 0, so a factor above 1 never yields a negative
 * delay. A negative factor is treated as 0.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = baseDelaySeconds(policy.retryDelaySeconds, Math.max(1, Math.floor(attempt)));
  const jitter = Math.max(0, policy.retryJitterFactor ?? 0);
  const low = Math.max(0, base * (1 - jitter));
  const high = base * (1 + jitter);
  const seconds = jitter === 0 ? base : low + (high - low) * random();
  return Math.round(Math.min(seconds, MAX_RETRY_DELAY_SECONDS) * 1000);
}

function baseDelaySeconds(delay: RetryDelay | undefined, attempt: number): number {
  if (delay === undefined) return 0;
  if (typeof delay === "number") return sane(delay);
  if (Array.isArray(delay)) {
    if (delay.length === 0) return 0;
    return sane(delay[Math.min(attempt, delay.length) - 1] ?? 0);
  }
  const grown = delay.baseSeconds * 2 ** (attempt - 1);
  return sane(delay.maxSeconds === undefined ? grown : Math.min(grown, delay.maxSeconds));
}

/** Negative or non-numeric delays come from bad user input; treat them as "retry now", not as an error. */
function sane(seconds: number): number {
  if (Number.isNaN(seconds) || seconds < 0) return 0;
  return Math.min(seconds, MAX_RETRY_DELAY_SECONDS);
}
