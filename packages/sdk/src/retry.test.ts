import { describe, expect, it } from "vitest";
import { exponentialBackoff, retryDelaySeconds } from "./retry.ts";

describe("retryDelaySeconds", () => {
  it("is zero without a configured delay", () => {
    expect(retryDelaySeconds({}, 1)).toBe(0);
  });

  it("repeats a single delay", () => {
    expect(retryDelaySeconds({ retryDelaySeconds: 3 }, 1)).toBe(3);
    expect(retryDelaySeconds({ retryDelaySeconds: 3 }, 5)).toBe(3);
  });

  it("walks a list and repeats its last entry", () => {
    const p = { retryDelaySeconds: [1, 2, 4] };
    expect([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(p, n))).toEqual([1, 2, 4, 4, 4]);
  });

  it("doubles with exponential backoff and honours the cap", () => {
    const p = { retryDelaySeconds: exponentialBackoff(1.5, 5) };
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(p, n))).toEqual([1.5, 3, 5, 5]);
    expect(exponentialBackoff(2)).toEqual({ kind: "exponential", baseSeconds: 2 });
  });

  it("keeps jittered delays within ±factor of the base delay", () => {
    const p = { retryDelaySeconds: 10, retryJitterFactor: 0.2 };
    expect(retryDelaySeconds(p, 1, () => 0)).toBeCloseTo(8);
    expect(retryDelaySeconds(p, 1, () => 0.999999)).toBeCloseTo(12);
    expect(retryDelaySeconds(p, 1, () => 0.5)).toBeCloseTo(10);
    for (let i = 0; i < 1000; i++) {
      const d = retryDelaySeconds(p, 1);
      expect(d).toBeGreaterThanOrEqual(8);
      expect(d).toBeLessThanOrEqual(12);
    }
  });

  it("never goes negative with a jitter factor above 1", () => {
    expect(retryDelaySeconds({ retryDelaySeconds: 1, retryJitterFactor: 3 }, 1, () => 0)).toBe(0);
  });
});
