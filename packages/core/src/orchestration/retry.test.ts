import { describe, expect, it } from "vitest";
import { MAX_RETRY_DELAY_SECONDS, exponentialBackoff, retryDelayMs, type RetryPolicy } from "./retry.ts";

const never = (): number => {
  throw new Error("random must not be called without jitter");
};

describe("retryDelayMs without jitter", () => {
  const cases: { name: string; policy: RetryPolicy; attempt: number; ms: number }[] = [
    { name: "no delay configured → retry at once", policy: { retries: 3 }, attempt: 1, ms: 0 },
    { name: "a number applies to every retry", policy: { retries: 3, retryDelaySeconds: 5 }, attempt: 3, ms: 5000 },
    { name: "fractional seconds", policy: { retries: 1, retryDelaySeconds: 0.25 }, attempt: 1, ms: 250 },
    {
      name: "list: first retry uses the first entry",
      policy: { retries: 3, retryDelaySeconds: [1, 10, 60] },
      attempt: 1,
      ms: 1000,
    },
    {
      name: "list: second retry uses the second entry",
      policy: { retries: 3, retryDelaySeconds: [1, 10, 60] },
      attempt: 2,
      ms: 10_000,
    },
    {
      name: "list: last entry repeats once the list runs out",
      policy: { retries: 9, retryDelaySeconds: [1, 10, 60] },
      attempt: 7,
      ms: 60_000,
    },
    { name: "list: empty means no delay", policy: { retries: 2, retryDelaySeconds: [] }, attempt: 1, ms: 0 },
    {
      name: "exponential: first retry waits the base",
      policy: { retries: 5, retryDelaySeconds: exponentialBackoff(2) },
      attempt: 1,
      ms: 2000,
    },
    {
      name: "exponential: doubles per retry",
      policy: { retries: 5, retryDelaySeconds: exponentialBackoff(2) },
      attempt: 4,
      ms: 16_000,
    },
    {
      name: "exponential: capped by maxSeconds",
      policy: { retries: 9, retryDelaySeconds: exponentialBackoff(2, 30) },
      attempt: 6,
      ms: 30_000,
    },
    {
      name: "exponential: below the cap is untouched",
      policy: { retries: 9, retryDelaySeconds: exponentialBackoff(2, 30) },
      attempt: 4,
      ms: 16_000,
    },
    {
      name: "exponential without a cap stops at MAX_RETRY_DELAY_SECONDS so the date stays valid",
      policy: { retries: 2000, retryDelaySeconds: exponentialBackoff(10) },
      attempt: 1500,
      ms: MAX_RETRY_DELAY_SECONDS * 1000,
    },
    { name: "negative delay is treated as none", policy: { retries: 1, retryDelaySeconds: -5 }, attempt: 1, ms: 0 },
    {
      name: "attempt 0 is treated as the first retry",
      policy: { retries: 3, retryDelaySeconds: [4, 8] },
      attempt: 0,
      ms: 4000,
    },
    {
      name: "zero jitter factor draws nothing",
      policy: { retries: 1, retryDelaySeconds: 3, retryJitterFactor: 0 },
      attempt: 1,
      ms: 3000,
    },
  ];
  it.each(cases)("$name", ({ policy, attempt, ms }) => {
    expect(retryDelayMs(policy, attempt, never)).toBe(ms);
  });
});

describe("retryDelayMs with jitter", () => {
  /** A 10 s delay with jitter factor `factor`. */
  const jitter = (factor: number): RetryPolicy => ({ retries: 1, retryDelaySeconds: 10, retryJitterFactor: factor });
  const cases: { name: string; policy: RetryPolicy; attempt?: number; random: number; ms: number }[] = [
    { name: "random 0 → lower bound d*(1-j)", policy: jitter(0.5), random: 0, ms: 5000 },
    { name: "random 0.5 → the delay itself", policy: jitter(0.5), random: 0.5, ms: 10_000 },
    { name: "random →1 → upper bound d*(1+j)", policy: jitter(0.5), random: 0.999999, ms: 15_000 },
    { name: "factor above 1 never goes negative", policy: jitter(3), random: 0, ms: 0 },
    { name: "negative factor means no jitter", policy: jitter(-1), random: 0, ms: 10_000 },
    {
      name: "jitter applies to the list entry of this attempt",
      policy: { retries: 3, retryDelaySeconds: [1, 100], retryJitterFactor: 0.1 },
      attempt: 2,
      random: 0,
      ms: 90_000,
    },
  ];
  it.each(cases)("$name", ({ policy, attempt, random, ms }) => {
    expect(retryDelayMs(policy, attempt ?? 1, () => random)).toBe(ms);
  });

  it("stays within [d*(1-j), d*(1+j)] for any draw", () => {
    const policy: RetryPolicy = { retries: 1, retryDelaySeconds: exponentialBackoff(4), retryJitterFactor: 0.3 };
    for (let i = 0; i < 1000; i++) {
      const ms = retryDelayMs(policy, 3, Math.random);
      expect(ms).toBeGreaterThanOrEqual(16_000 * 0.7);
      expect(ms).toBeLessThanOrEqual(16_000 * 1.3);
    }
  });
});

describe("exponentialBackoff", () => {
  it("builds the object form, omitting an absent cap", () => {
    expect(exponentialBackoff(3)).toEqual({ kind: "exponential", baseSeconds: 3 });
    expect(exponentialBackoff(3)).not.toHaveProperty("maxSeconds");
    expect(exponentialBackoff(3, 60)).toEqual({ kind: "exponential", baseSeconds: 3, maxSeconds: 60 });
  });
});
