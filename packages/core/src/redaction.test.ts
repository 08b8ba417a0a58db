import { describe, expect, it } from "vitest";
import { Redactor } from "./redaction.ts";

describe("Redactor", () => {
  it("replaces a value, its base64 forms and its JSON-escaped form", () => {
    const r = new Redactor();
    const value = 'p@ss"word/+';
    r.add(value);
    expect(r.text(`a ${value} b`)).toBe("a *** b");
    expect(r.text(Buffer.from(value).toString("base64"))).toBe("***");
    expect(r.text(Buffer.from(value).toString("base64url"))).toBe("***");
    expect(r.text(JSON.stringify({ v: value }))).toBe('{"v":"***"}');
  });

  it("redacts each line of a multi-line value on its own, as line-by-line capture delivers it, but not short lines", () => {
    const r = new Redactor();
    r.add("-----BEGIN-----\nMIIBOgIBAAJBAKj34GkxFhD9\n}\n-----END-----");
    expect(r.text("MIIBOgIBAAJBAKj34GkxFhD9")).toBe("***");
    expect(r.text("-----BEGIN-----")).toBe("***");
    expect(r.text("}")).toBe("}");
  });

  it("replaces the longest value first, and walks objects, arrays and keys", () => {
    const r = new Redactor();
    r.add("abcd");
    r.add("xxabcdxx");
    expect(r.text("xxabcdxx abcd")).toBe("*** ***");
    expect(r.deep({ list: ["abcd", 1, null], abcd: { nested: "-abcd-" } })).toEqual({
      list: ["***", 1, null],
      "***": { nested: "-***-" },
    });
  });

  it("with nothing to redact, returns its input as is", () => {
    const r = new Redactor();
    const value = { a: "b" };
    expect(r.empty).toBe(true);
    expect(r.deep(value)).toBe(value);
  });
});
