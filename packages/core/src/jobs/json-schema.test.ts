import { describe, expect, it } from "vitest";
import { checkValue, describeSchemaType, type JsonSchema } from "./json-schema.ts";

const ok = (value: unknown, schema: JsonSchema): boolean => checkValue(value, schema, "v").length === 0;

describe("checkValue", () => {
  it.each([
    ["string", "a", 1],
    ["number", 1.5, "1.5"],
    ["integer", 3, 3.5],
    ["boolean", false, "false"],
    ["object", { a: 1 }, [1]],
    ["array", [1], { 0: 1 }],
    ["null", null, undefined],
  ] as const)("type %s accepts %j and refuses %j", (type, good, bad) => {
    expect(ok(good, { type })).toBe(true);
    expect(ok(bad, { type })).toBe(false);
  });

  it("number refuses NaN and Infinity; integer is also a number", () => {
    expect(ok(Number.NaN, { type: "number" })).toBe(false);
    expect(ok(Number.POSITIVE_INFINITY, { type: "number" })).toBe(false);
    expect(ok(4, { type: "number" })).toBe(true);
  });

  it("a type list accepts any of its types", () => {
    expect(ok(null, { type: ["string", "null"] })).toBe(true);
    expect(ok("x", { type: ["string", "null"] })).toBe(true);
    expect(checkValue(1, { type: ["string", "null"] }, "v")).toEqual([
      { path: "v", message: "expected string or null, got 1" },
    ]);
  });

  it("enum compares JSON values", () => {
    expect(ok("a", { type: "string", enum: ["a", "b"] })).toBe(true);
    expect(ok({ x: [1] }, { enum: [{ x: [1] }] })).toBe(true);
    expect(checkValue("c", { type: "string", enum: ["a", "b"] }, "v")[0]?.message).toBe(
      'expected one of "a", "b", got "c"',
    );
  });

  it("checks array items and object properties with their paths", () => {
    expect(checkValue(["a", 2], { type: "array", items: { type: "string" } }, "v")).toEqual([
      { path: "v[1]", message: "expected string, got 2" },
    ]);
    const schema: JsonSchema = {
      type: "object",
      properties: { name: { type: "string" } },
      required: ["name", "weight"],
      additionalProperties: { type: "number" },
    };
    expect(checkValue({ name: 1, extra: "x" }, schema, "v")).toEqual([
      { path: "v.weight", message: "is required" },
      { path: "v.name", message: "expected string, got 1" },
      { path: "v.extra", message: 'expected number, got "x"' },
    ]);
    expect(checkValue({ a: 1 }, { type: "object", additionalProperties: false }, "v")).toEqual([
      { path: "v.a", message: "is not allowed" },
    ]);
  });

  it("anyOf accepts a value matching any branch", () => {
    const schema: JsonSchema = { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] };
    expect(ok("a", schema)).toBe(true);
    expect(ok(["a"], schema)).toBe(true);
    expect(checkValue([1], schema, "v")[0]?.message).toBe("expected string or array of string, got an array");
  });

  it("a schema without type accepts any JSON value and nothing else", () => {
    expect(ok({ a: [1, null] }, {})).toBe(true);
    expect(ok(() => 1, {})).toBe(false);
  });

  it("describes types for messages", () => {
    expect(describeSchemaType({ type: ["array", "string", "null"], items: { type: "string" } })).toBe(
      "array of string, string or null",
    );
    expect(describeSchemaType({ type: "object", additionalProperties: { type: "string" } })).toBe(
      "object of string values",
    );
  });
});
