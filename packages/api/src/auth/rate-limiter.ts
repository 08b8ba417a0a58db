// Per-key token buckets, in memory per server process. With N replicas a key gets up to N times
// the rate; that is acceptable for abuse protection and avoids a database write per request.
export interface RateLimit {
  /** Sustained requests per second. */
  ratePerSecond: number;
  /** Requests allowed in a burst. */
  burst: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(private readonly limit: RateLimit) {}

  take(key: string, now = Date.now()): RateDecision {
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, updatedAt: now };
    bucket.tokens = Math.min(
      this.limit.burst,
      bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.limit.ratePerSecond,
    );
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) / this.limit.ratePerSecond) * 1000) };
  }
}
