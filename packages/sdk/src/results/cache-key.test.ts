import { describe, expect, it } from "vitest";
import { inputsCacheKey, inputsOnlyCacheKey, stableStringify, UnhashableInputError } from "./cache-key.ts";

describe("stableStringify", () => {
  it("sorts object keys at every depth", () => {
    expect(stableStringify({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });

  it("matches JSON for undefined members and dates", () => {
    const d = new Date("2024-01-02T03:04:05.000Z");
    expect(stableStringify({ a: undefined, d, xs: [undefined] })).toBe(JSON.stringify({ d, xs: [null] }));
  });

  it("encodes maps and sets independently of insertion order", () => {
    expect(
      stableStringify(
        new Map([
          ["b", 1],
          ["a", 2],
        ]),
      ),
    ).toBe(
      stableStringify(
        new Map([
          ["a", 2],
          ["b", 1],
        ]),
      ),
    );
    expect(stableStringify(new Set([2, 1]))).toBe(stableStringify(new Set([1, 2])));
    expect(stableStringify(10n)).toBe('"10n"');
  });

  it("rejects circular structures", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => stableStringify(a)).toThrow(UnhashableInputError);
    expect(() => stableStringify(a)).toThrow(/circular/);
  });

  it("accepts shared (non-circular) references", () => {
    const shared = { x: 1 };
    expect(stableStringify([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });
});

describe("inputsCacheKey", () => {
  it("is stable across key order and differs across tasks and args", () => {
    const k1 = inputsCacheKey({ taskKey: "fetch", taskSourceHash: "s1" }, [{ a: 1, b: 2 }]);
    expect(inputsCacheKey({ taskKey: "fetch", taskSourceHash: "s1" }, [{ b: 2, a: 1 }])).toBe(k1);
    expect(inputsCacheKey({ taskKey: "other", taskSourceHash: "s1" }, [{ a: 1, b: 2 }])).not.toBe(k1);
    expect(inputsCacheKey({ taskKey: "fetch", taskSourceHash: "s1" }, [{ a: 1, b: 3 }])).not.toBe(k1);
    expect(k1).toMatch(/^fetch-[0-9a-f]{32}$/);
  });
});

describe("unhashable inputs", () => {
  it("refuses functions, symbols and promises instead of encoding them as nothing", () => {
    expect(() => stableStringify([() => 1])).toThrow(UnhashableInputError);
    expect(() => stableStringify({ s: Symbol("x") })).toThrow(UnhashableInputError);
    expect(() => stableStringify(Promise.resolve(1))).toThrow(UnhashableInputError);
  });

  it("puts the task source into inputsCacheKey but not into inputsOnlyCacheKey", () => {
    const a = { taskKey: "t", taskSourceHash: "source-a" };
    const b = { taskKey: "t", taskSourceHash: "source-b" };
    expect(inputsCacheKey(a, [1])).not.toBe(inputsCacheKey(b, [1]));
    expect(inputsOnlyCacheKey(a, [1])).toBe(inputsOnlyCacheKey(b, [1]));
  });
});
