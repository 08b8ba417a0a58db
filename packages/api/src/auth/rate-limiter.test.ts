// Per-key rate limits: past the burst a key is answered TOO_MANY_REQUESTS (HTTP 429) with a retry
// hint in data.retryAfterMs; other keys are unaffected, and the key works again after the hint.
import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limiter.ts";
import { useTestApi, httpCall } from "../testing.ts";

const api = useTestApi({ rateLimit: { ratePerSecond: 5, burst: 5 } });

const whoami = (credential: string) => httpCall(api.services, { path: "auth.whoami", type: "query", credential });

describe("rate limits", () => {
  it("the 6th quick call with one key gets TOO_MANY_REQUESTS and a retry hint; other keys are unaffected", async () => {
    const key = api.a.keys.READ;
    // Warm the key cache, then let the bucket refill, so the six calls below meet the limiter within
    // a millisecond or two (sequential calls on a loaded machine would earn refills in between).
    expect((await whoami(key)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    const answers = await Promise.all(Array.from({ length: 6 }, () => whoami(key)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = answers.find((a) => a.status === 429)!;
    expect(limited.error?.data.code).toBe("TOO_MANY_REQUESTS");
    expect(limited.error?.data.apiCode).toBe("RATE_LIMITED");
    const retryAfterMs = limited.error?.data.retryAfterMs ?? 0;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(200);
    expect(limited.error?.message).toMatch(/retry in \d+ ms/);

    // Another key of the same workspace has its own bucket.
    expect((await whoami(api.a.keys.WORKER)).status).toBe(200);

    await new Promise((r) => setTimeout(r, retryAfterMs + 20));
    expect((await whoami(key)).status).toBe(200);
  });

  it("refills at the configured rate and never beyond the burst", () => {
    const limiter = new RateLimiter({ ratePerSecond: 5, burst: 5 });
    const t0 = 1_000_000;
    for (let i = 0; i < 5; i++) expect(limiter.take("k", t0).allowed).toBe(true);
    const refused = limiter.take("k", t0);
    expect(refused).toEqual({ allowed: false, retryAfterMs: 200 });
    expect(limiter.take("k", t0 + 200).allowed).toBe(true);
    expect(limiter.take("k", t0 + 200).allowed).toBe(false);
    // A long idle period refills only up to the burst.
    for (let i = 0; i < 5; i++) expect(limiter.take("k", t0 + 60_000).allowed).toBe(true);
    expect(limiter.take("k", t0 + 60_000).allowed).toBe(false);
  });
});
