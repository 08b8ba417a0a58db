import { describe, expect, it } from "vitest";
import { resolveJobConfiguration, validateBaseJobTemplate, type BaseJobTemplate } from "./index.ts";

function fixture(): BaseJobTemplate {
  return {
    jobConfiguration: {
      image: "{{ image }}",
      env: "{{ env }}",
      labels: "{{ labels }}",
      cpus: "{{ cpus }}",
      name: "flow-{{ name }}-run",
      args: ["--image", "{{ image }}", ["{{ retries }}", "x{{ retries }}"]],
      nested: { pull: "{{ pull }}", note: "static" },
      literal: 0,
    },
    variables: {
      type: "object",
      properties: {
        image: { type: "string", default: "base:1" },
        env: { type: "object", additionalProperties: { type: ["string", "null"] }, default: { A: "pool", B: "pool" } },
        labels: { type: "object", additionalProperties: { type: "string" }, default: { team: "data" } },
        cpus: { type: ["number", "null"], default: null },
        name: { type: ["string", "null"] },
        retries: { type: "integer", default: 2 },
        pull: { type: "string", enum: ["never", "always"], default: "never" },
      },
    },
  };
}

function resolved(deployment: Record<string, unknown>, run: Record<string, unknown>, template = fixture()) {
  const r = resolveJobConfiguration(template, deployment, run);
  if (!r.ok) throw new Error(`unexpected errors: ${JSON.stringify(r.errors)}`);
  return r;
}

function errors(deployment: Record<string, unknown>, run: Record<string, unknown>, template = fixture()) {
  const r = resolveJobConfiguration(template, deployment, run);
  if (r.ok) throw new Error("expected errors");
  return r.errors;
}

describe("resolveJobConfiguration: precedence", () => {
  it("uses schema defaults when nothing is set", () => {
    const r = resolved({}, {});
    expect(r.variables).toEqual({
      image: "base:1",
      env: { A: "pool", B: "pool" },
      labels: { team: "data" },
      cpus: null,
      retries: 2,
      pull: "never",
    });
  });

  it("deployment variables override defaults, run variables override both", () => {
    expect(resolved({ image: "dep:2" }, {}).configuration.image).toBe("dep:2");
    expect(resolved({ image: "dep:2" }, { image: "run:3" }).configuration.image).toBe("run:3");
    expect(resolved({}, { image: "run:3" }).configuration.image).toBe("run:3");
  });

  it("merges env key by key across all three layers", () => {
    const r = resolved({ env: { B: "dep", C: "dep" } }, { env: { C: "run", D: "run" } });
    expect(r.configuration.env).toEqual({ A: "pool", B: "dep", C: "run", D: "run" });
  });

  it("merges labels the same way", () => {
    expect(resolved({ labels: { owner: "ana" } }, {}).configuration.labels).toEqual({ team: "data", owner: "ana" });
  });

  it("removes an inherited env key set to null", () => {
    expect(resolved({ env: { B: null } }, { env: { A: null, E: "run" } }).configuration.env).toEqual({ E: "run" });
  });

  it("replaces, not merges, object variables with other names", () => {
    const template = fixture();
    template.variables.properties.options = { type: "object", default: { a: 1, b: 2 } };
    template.jobConfiguration.options = "{{ options }}";
    expect(resolved({ options: { c: 3 } }, {}, template).configuration.options).toEqual({ c: 3 });
  });

  it("never mutates the template or the inputs", () => {
    const template = fixture();
    const before = structuredClone(template);
    const deployment = { env: { X: "1" } };
    const r = resolved(deployment, { env: { Y: "2" } }, template);
    (r.configuration.env as Record<string, string>).Z = "3";
    expect(template).toEqual(before);
    expect(deployment).toEqual({ env: { X: "1" } });
    expect(resolved({}, {}, template).configuration.env).toEqual({ A: "pool", B: "pool" });
  });
});

describe("resolveJobConfiguration: errors", () => {
  it("names an unknown variable and lists the known ones", () => {
    expect(errors({ imag: "x" }, {})).toEqual([
      {
        path: "job_variables.imag",
        message: 'unknown variable "imag" (known: image, env, labels, cpus, name, retries, pull)',
        source: "deployment",
      },
    ]);
    expect(errors({}, { foo: 1 })[0]).toMatchObject({ path: "job_variables.foo", source: "run" });
  });

  it("names the variable and the expected type on a type mismatch", () => {
    expect(errors({ image: 5 }, {})).toEqual([
      { path: "job_variables.image", message: "expected string, got 5", source: "deployment" },
    ]);
    expect(errors({}, { cpus: "two" })).toEqual([
      { path: "job_variables.cpus", message: 'expected number or null, got "two"', source: "run" },
    ]);
    expect(errors({ retries: 1.5 }, {})[0]?.message).toBe("expected integer, got 1.5");
    expect(errors({ pull: "sometimes" }, {})[0]?.message).toBe('expected one of "never", "always", got "sometimes"');
    expect(errors({ env: { A: 1 } }, {})[0]).toMatchObject({
      path: "job_variables.env.A",
      message: "expected string or null, got 1",
    });
    expect(errors({ env: ["A=1"] }, {})[0]?.message).toBe("expected object of string or null values, got an array");
  });

  it("reports every error, from both layers, at once", () => {
    expect(errors({ image: 1, nope: true }, { retries: "3" }).map((e) => e.path)).toEqual([
      "job_variables.image",
      "job_variables.nope",
      "job_variables.retries",
    ]);
  });

  it("reports a required variable with no value", () => {
    const template = fixture();
    template.variables.required = ["name"];
    expect(errors({}, {}, template)).toEqual([
      {
        path: "job_variables.name",
        message: expect.stringContaining('required variable "name" has no value'),
        source: "deployment",
      },
    ]);
    expect(resolved({ name: "etl" }, {}, template).configuration.name).toBe("flow-etl-run");
  });

  it("refuses an invalid template instead of rendering it", () => {
    const template = fixture();
    template.jobConfiguration.extra = "{{ missing }}";
    expect(errors({}, {}, template)[0]).toMatchObject({ path: "jobConfiguration.extra", source: "template" });
  });

  it("refuses job variables that are not an object", () => {
    expect(errors([] as unknown as Record<string, unknown>, {})[0]).toMatchObject({
      path: "job_variables",
      source: "deployment",
    });
  });
});

describe("resolveJobConfiguration: rendering", () => {
  it("an exact placeholder keeps the raw value: objects, numbers, null", () => {
    const r = resolved({ cpus: 1.5 }, {});
    expect(r.configuration.env).toEqual({ A: "pool", B: "pool" });
    expect(r.configuration.cpus).toBe(1.5);
    expect(resolved({}, {}).configuration.cpus).toBeNull();
  });

  it("an embedded placeholder is interpolated as text, an unset one as empty text", () => {
    expect(resolved({ name: "etl" }, {}).configuration.name).toBe("flow-etl-run");
    expect(resolved({}, {}).configuration.name).toBe("flow--run");
  });

  it("an exact placeholder of an unset variable becomes null", () => {
    const template = fixture();
    template.jobConfiguration.raw_name = "{{ name }}";
    expect(resolved({}, {}, template).configuration.raw_name).toBeNull();
  });

  it("renders inside nested arrays and objects and leaves literals alone", () => {
    const r = resolved({ image: "dep:2", pull: "always" }, { retries: 5 });
    expect(r.configuration.args).toEqual(["--image", "dep:2", [5, "x5"]]);
    expect(r.configuration.nested).toEqual({ pull: "always", note: "static" });
    expect(r.configuration.literal).toBe(0);
  });
});

describe("validateBaseJobTemplate", () => {
  it("accepts a valid template", () => {
    expect(validateBaseJobTemplate(fixture())).toEqual({ ok: true, template: fixture() });
  });

  it("accepts Prefect's snake_case job_configuration and returns jobConfiguration", () => {
    const { jobConfiguration, variables } = fixture();
    const r = validateBaseJobTemplate({ job_configuration: jobConfiguration, variables });
    expect(r).toEqual({ ok: true, template: { jobConfiguration, variables } });
  });

  it("requires an object with jobConfiguration and variables", () => {
    expect(validateBaseJobTemplate(null)).toMatchObject({ ok: false, errors: [{ path: "" }] });
    const r = validateBaseJobTemplate({ variables: { type: "object", properties: {} }, extra: 1 });
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(["extra", "jobConfiguration"]);
  });

  it("requires variables to be an object schema with properties", () => {
    const paths = (variables: unknown): string[] => {
      const r = validateBaseJobTemplate({ jobConfiguration: {}, variables });
      return r.ok ? [] : r.errors.map((e) => e.path);
    };
    expect(paths({ type: "array", properties: {} })).toEqual(["variables.type"]);
    expect(paths({ type: "object" })).toEqual(["variables.properties"]);
    expect(paths({ type: "object", properties: { a: { type: "text" } } })).toEqual(["variables.properties.a.type"]);
    expect(paths({ type: "object", properties: { a: { type: "string" } }, required: ["b"] })).toEqual([
      "variables.required[0]",
    ]);
    expect(paths({ type: "object", properties: { "a.b": { type: "string" } } })).toEqual(["variables.properties.a.b"]);
  });

  it("checks every default against its declared type", () => {
    const template = fixture();
    template.variables.properties.image = { type: "string", default: 42 };
    template.variables.properties.retries = { type: "integer", default: "2" };
    const r = validateBaseJobTemplate(template);
    expect(r.ok ? [] : r.errors).toEqual([
      { path: "variables.properties.image.default", message: "expected string, got 42", source: "template" },
      { path: "variables.properties.retries.default", message: 'expected integer, got "2"', source: "template" },
    ]);
  });

  it("requires every placeholder to name a declared variable", () => {
    const template = fixture();
    template.jobConfiguration.deep = { list: ["ok", "{{ imgae }}"] };
    template.jobConfiguration.dotted = "{{ a.b }}";
    const r = validateBaseJobTemplate(template);
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: "jobConfiguration.deep.list[1]",
        message: expect.stringContaining('placeholder "{{ imgae }}" names no declared variable (declared: image, env'),
        source: "template",
      },
      {
        path: "jobConfiguration.dotted",
        message: 'invalid placeholder "{{ a.b }}": expected {{ variable_name }}',
        source: "template",
      },
    ]);
  });
});
