import { describe, expect, it } from "vitest";
import { uuidv7, uuidv7Timestamp } from "./uuidv7.ts";

describe("uuidv7", () => {
  it("has the RFC 9562 version and variant bits", () => {
    for (let i = 0; i < 1000; i++) {
      expect(uuidv7()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it("encodes the current time", () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(uuidv7Timestamp(id)).toBeGreaterThanOrEqual(before);
    expect(uuidv7Timestamp(id)).toBeLessThanOrEqual(after + 1);
  });

  it("sorts in creation order even many per millisecond", () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
