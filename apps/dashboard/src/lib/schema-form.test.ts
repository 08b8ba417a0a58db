import { describe, expect, it } from "vitest";
import { collectParameters, fieldsFromSchema, initialValues } from "./schema-form.ts";

const schema = {
  type: "object",
  properties: {
    day: { type: "string", description: "ISO day" },
    n: { type: "integer", minimum: 1, default: 3 },
    ratio: { type: ["number", "null"] },
    dryRun: { type: "boolean" },
    region: { enum: ["eu", "us"] },
    options: { type: "object" },
  },
  required: ["day", "n"],
};

describe("schema form", () => {
  it("derives one field per property with its kind", () => {
    const fields = fieldsFromSchema(schema)!;
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ["day", "string", true],
      ["n", "integer", true],
      ["ratio", "number", false],
      ["dryRun", "boolean", false],
      ["region", "enum", false],
      ["options", "json", false],
    ]);
  });

  it("fills stored parameters over schema defaults and converts values back", () => {
    const fields = fieldsFromSchema(schema)!;
    const values = initialValues(fields, { region: "us" });
    expect(values).toMatchObject({ n: "3", region: "1", dryRun: false });
    const out = collectParameters(fields, { ...values, day: "2026-01-01", options: '{"a":1}', dryRun: true });
    expect(out).toEqual({
      ok: true,
      parameters: { day: "2026-01-01", n: 3, dryRun: true, region: "us", options: { a: 1 } },
    });
  });

  it("names each bad field", () => {
    const fields = fieldsFromSchema(schema)!;
    const out = collectParameters(fields, { day: "", n: "2.5", ratio: "x", dryRun: false, region: "", options: "[1]" });
    expect(out.ok).toBe(false);
    if (!out.ok) expect(Object.keys(out.errors).sort()).toEqual(["day", "n", "options", "ratio"]);
  });

  it("is null for schemas without named properties", () => {
    expect(fieldsFromSchema(null)).toBeNull();
    expect(fieldsFromSchema({ type: "string" })).toBeNull();
  });
});
