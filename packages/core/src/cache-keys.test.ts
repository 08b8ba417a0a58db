import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { boundedCacheKey, MAX_CACHE_KEY_LENGTH } from "./cache-keys.ts";

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

describe("boundedCacheKey", () => {
  it("keeps keys up to the limit as written", () => {
    const atLimit = "k".repeat(MAX_CACHE_KEY_LENGTH);
    expect(boundedCacheKey(atLimit, sha256Hex)).toBe(atLimit);
    expect(boundedCacheKey("short", sha256Hex)).toBe("short");
  });

  it("replaces a longer key by its SHA-256, the same for the same key and different for another", () => {
    const long = "k".repeat(MAX_CACHE_KEY_LENGTH + 1);
    const bounded = boundedCacheKey(long, sha256Hex);
    expect(bounded).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(boundedCacheKey(long, sha256Hex)).toBe(bounded);
    expect(boundedCacheKey(`${long}x`, sha256Hex)).not.toBe(bounded);
  });
});
