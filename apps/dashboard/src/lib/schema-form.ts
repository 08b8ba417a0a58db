// A "run now" form from a deployment's parameter JSON Schema: one field per top-level property.
// Strings, numbers, integers and booleans get native inputs, enums a select, and anything else
// (objects, arrays, unions) a JSON text area that is parsed and type-checked on submit.

export type FieldKind = "string" | "number" | "integer" | "boolean" | "enum" | "json";

export interface Field {
  name: string;
  title: string;
  description: string | null;
  kind: FieldKind;
  required: boolean;
  enumValues: unknown[];
  /** For `json` fields: the JSON type expected, when the schema says. */
  jsonType: "object" | "array" | null;
  minimum: number | null;
  maximum: number | null;
  default: unknown;
}

export type FormValue = string | boolean;

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

/** The non-null branch of `T | null` shapes (`type: [T, "null"]`, `anyOf: [T, {type: null}]`). */
function unwrapNullable(s: Schema): Schema {
  if (Array.isArray(s.type)) {
    const types = (s.type as unknown[]).filter((t) => t !== "null");
    if (types.length === 1) return { ...s, type: types[0] };
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = s[key];
    if (Array.isArray(branches)) {
      const rest = branches.filter((b) => !(isObject(b) && b.type === "null"));
      if (rest.length === 1 && isObject(rest[0])) {
        const { [key]: _drop, ...outer } = s;
        return unwrapNullable({ ...outer, ...rest[0] });
      }
    }
  }
  return s;
}

function resolveRef(s: Schema, root: Schema): Schema {
  const ref = s.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return s;
  let node: unknown = root;
  for (const part of ref.slice(2).split("/"))
    node = isObject(node) ? node[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
  return isObject(node) ? { ...node, ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== "$ref")) } : s;
}

/** Fields of an object schema, or null when the schema does not describe named parameters. */
export function fieldsFromSchema(schema: unknown): Field[] | null {
  if (!isObject(schema)) return null;
  const props = schema.properties;
  if (!isObject(props)) return null;
  const required = new Set(
    Array.isArray(schema.required)
      ? (schema.required as unknown[]).filter((r): r is string => typeof r === "string")
      : [],
  );
  return Object.entries(props).map(([name, raw]) => {
    const s = unwrapNullable(resolveRef(isObject(raw) ? raw : {}, schema));
    const type = s.type;
    let kind: FieldKind = "json";
    const enumValues = Array.isArray(s.enum)
      ? (s.enum as unknown[]).filter((v) => v !== null)
      : "const" in s
        ? [s.const]
        : [];
    if (enumValues.length > 0) kind = "enum";
    else if (type === "string") kind = "string";
    else if (type === "number") kind = "number";
    else if (type === "integer") kind = "integer";
    else if (type === "boolean") kind = "boolean";
    return {
      name,
      title: typeof s.title === "string" ? s.title : name,
      description: typeof s.description === "string" ? s.description : null,
      kind,
      required: required.has(name),
      enumValues,
      jsonType: type === "object" || type === "array" ? type : null,
      minimum: typeof s.minimum === "number" ? s.minimum : null,
      maximum: typeof s.maximum === "number" ? s.maximum : null,
      default: s.default,
    };
  });
}

/** Form values for the fields: the deployment's stored parameters first, then schema defaults. */
export function initialValues(fields: readonly Field[], defaults: Record<string, unknown>): Record<string, FormValue> {
  const values: Record<string, FormValue> = {};
  for (const f of fields) {
    const v = f.name in defaults ? defaults[f.name] : f.default;
    switch (f.kind) {
      case "boolean":
        values[f.name] = v === true;
        break;
      case "enum": {
        const i = f.enumValues.findIndex((e) => JSON.stringify(e) === JSON.stringify(v));
        values[f.name] = i >= 0 ? String(i) : "";
        break;
      }
      case "json":
        values[f.name] = v === undefined ? "" : JSON.stringify(v, null, 2);
        break;
      default:
        values[f.name] = v === undefined || v === null ? "" : String(v);
    }
  }
  return values;
}

export type Collected =
  { ok: true; parameters: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

export function collectParameters(fields: readonly Field[], values: Record<string, FormValue>): Collected {
  const parameters: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const raw = values[f.name];
    if (f.kind === "boolean") {
      parameters[f.name] = raw === true;
      continue;
    }
    const text = typeof raw === "string" ? raw.trim() : "";
    if (text === "") {
      if (f.required) errors[f.name] = "Required.";
      continue;
    }
    switch (f.kind) {
      case "string":
        parameters[f.name] = typeof raw === "string" ? raw : "";
        break;
      case "number":
      case "integer": {
        const n = Number(text);
        if (!Number.isFinite(n)) errors[f.name] = "Enter a number.";
        else if (f.kind === "integer" && !Number.isInteger(n)) errors[f.name] = "Enter a whole number.";
        else if (f.minimum !== null && n < f.minimum) errors[f.name] = `Must be at least ${f.minimum}.`;
        else if (f.maximum !== null && n > f.maximum) errors[f.name] = `Must be at most ${f.maximum}.`;
        else parameters[f.name] = n;
        break;
      }
      case "enum": {
        const i = Number(text);
        if (!Number.isInteger(i) || i < 0 || i >= f.enumValues.length) errors[f.name] = "Choose a value.";
        else parameters[f.name] = f.enumValues[i];
        break;
      }
      case "json": {
        try {
          const v: unknown = JSON.parse(text);
          if (f.jsonType === "object" && !isObject(v)) errors[f.name] = 'Enter a JSON object, like {"key": 1}.';
          else if (f.jsonType === "array" && !Array.isArray(v)) errors[f.name] = "Enter a JSON array, like [1, 2].";
          else parameters[f.name] = v;
        } catch (err) {
          errors[f.name] = `Not valid JSON: ${(err as Error).message}`;
        }
        break;
      }
    }
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, parameters };
}
