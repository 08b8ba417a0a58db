// The slice of JSON Schema that job variables use: `type` (one name or a list), `enum`, `items`,
// `properties`/`required`/`additionalProperties` for objects and `anyOf`. Other keywords (title,
// description, default, format…) are annotations here and never fail a value. Small enough to read
// in one sitting, which a full validator dependency would not be.

export const JSON_SCHEMA_TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"] as const;
export type JsonSchemaType = (typeof JSON_SCHEMA_TYPES)[number];

export interface JsonSchema {
  type?: JsonSchemaType | JsonSchemaType[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  [annotation: string]: unknown;
}

/** The schema of a template's variables: an object whose properties are the variables. */
export interface JsonSchemaObject extends JsonSchema {
  type: "object";
  properties: Record<string, JsonSchema>;
  required?: string[];
}

export interface SchemaIssue {
  path: string;
  message: string;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  return base === "" ? key : `${base}.${key}`;
}

/** The JSON type name of a value; "undefined"/"function"… for values JSON cannot hold. */
export function jsonTypeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number")
    return Number.isInteger(v) ? "integer" : Number.isFinite(v) ? "number" : "non-finite number";
  return typeof v;
}

function matchesType(v: unknown, type: JsonSchemaType): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "boolean":
      return typeof v === "boolean";
    case "object":
      return isPlainObject(v);
    case "array":
      return Array.isArray(v);
    case "null":
      return v === null;
    default: {
      const unreachable: never = type;
      return unreachable;
    }
  }
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** "string", "string or null", "one of \"a\", \"b\"". */
export function describeSchemaType(schema: JsonSchema): string {
  if (schema.enum) return `one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`;
  if (schema.anyOf) return schema.anyOf.map(describeSchemaType).join(" or ");
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length === 0) return "any JSON value";
  const named = types.map((t) => {
    if (t === "array" && schema.items) return `array of ${describeSchemaType(schema.items)}`;
    if (t === "object" && isPlainObject(schema.additionalProperties)) {
      return `object of ${describeSchemaType(schema.additionalProperties)} values`;
    }
    return t;
  });
  return named.length === 1 ? (named[0] ?? "") : `${named.slice(0, -1).join(", ")} or ${named[named.length - 1]}`;
}

function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return jsonTypeOf(v) === "object" ? "an object" : jsonTypeOf(v) === "array" ? "an array" : jsonTypeOf(v);
}

/** Every way `value` fails `schema`, each with the path (under `path`) of the offending part. */
export function checkValue(value: unknown, schema: JsonSchema, path: string): SchemaIssue[] {
  if (schema.anyOf) {
    if (schema.anyOf.some((s) => checkValue(value, s, path).length === 0)) {
      return checkValue(value, { ...schema, anyOf: undefined }, path);
    }
    return [{ path, message: `expected ${describeSchemaType(schema)}, got ${showValue(value)}` }];
  }
  if (schema.enum && !schema.enum.some((e) => jsonEqual(e, value))) {
    return [{ path, message: `expected ${describeSchemaType(schema)}, got ${showValue(value)}` }];
  }
  const types = schema.type === undefined ? undefined : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types && !types.some((t) => matchesType(value, t))) {
    return [
      { path, message: `expected ${describeSchemaType({ ...schema, enum: undefined })}, got ${showValue(value)}` },
    ];
  }
  if (types === undefined && !isJsonValue(value)) {
    return [{ path, message: `expected a JSON value, got ${jsonTypeOf(value)}` }];
  }
  const issues: SchemaIssue[] = [];
  if (Array.isArray(value) && schema.items) {
    const items = schema.items;
    value.forEach((item, i) => issues.push(...checkValue(item, items, joinPath(path, i))));
  }
  if (isPlainObject(value)) {
    const props = schema.properties ?? {};
    for (const name of schema.required ?? []) {
      if (value[name] === undefined) issues.push({ path: joinPath(path, name), message: "is required" });
    }
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const prop = props[key];
      if (prop) issues.push(...checkValue(v, prop, joinPath(path, key)));
      else if (schema.additionalProperties === false)
        issues.push({ path: joinPath(path, key), message: "is not allowed" });
      else if (isPlainObject(schema.additionalProperties))
        issues.push(...checkValue(v, schema.additionalProperties, joinPath(path, key)));
    }
  }
  return issues;
}

function isJsonValue(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJsonValue);
  if (isPlainObject(v)) return Object.values(v).every((x) => x === undefined || isJsonValue(x));
  return false;
}

/**
 * Problems with a schema itself (unknown type names, malformed keywords), so a bad template is
 * refused when it is saved rather than when a run needs it.
 */
export function checkSchema(schema: unknown, path: string): SchemaIssue[] {
  if (!isPlainObject(schema)) return [{ path, message: `must be a JSON Schema object, got ${showValue(schema)}` }];
  const issues: SchemaIssue[] = [];
  const { type } = schema;
  if (type !== undefined) {
    const list = Array.isArray(type) ? type : [type];
    if (list.length === 0) issues.push({ path: joinPath(path, "type"), message: "must name at least one type" });
    for (const t of list) {
      if (!(JSON_SCHEMA_TYPES as readonly unknown[]).includes(t)) {
        issues.push({
          path: joinPath(path, "type"),
          message: `unknown type ${showValue(t)} (known: ${JSON_SCHEMA_TYPES.join(", ")})`,
        });
      }
    }
  }
  for (const key of ["title", "description"] as const) {
    if (schema[key] !== undefined && typeof schema[key] !== "string") {
      issues.push({ path: joinPath(path, key), message: "must be a string" });
    }
  }
  if (schema.enum !== undefined && (!Array.isArray(schema.enum) || schema.enum.length === 0)) {
    issues.push({ path: joinPath(path, "enum"), message: "must be a non-empty array" });
  }
  if (schema.items !== undefined) issues.push(...checkSchema(schema.items, joinPath(path, "items")));
  if (schema.properties !== undefined) {
    if (!isPlainObject(schema.properties))
      issues.push({ path: joinPath(path, "properties"), message: "must be an object" });
    else
      for (const [k, v] of Object.entries(schema.properties))
        issues.push(...checkSchema(v, joinPath(joinPath(path, "properties"), k)));
  }
  if (
    schema.required !== undefined &&
    (!Array.isArray(schema.required) || schema.required.some((r) => typeof r !== "string"))
  ) {
    issues.push({ path: joinPath(path, "required"), message: "must be an array of property names" });
  }
  const ap = schema.additionalProperties;
  if (ap !== undefined && typeof ap !== "boolean")
    issues.push(...checkSchema(ap, joinPath(path, "additionalProperties")));
  if (schema.anyOf !== undefined) {
    if (!Array.isArray(schema.anyOf) || schema.anyOf.length === 0)
      issues.push({ path: joinPath(path, "anyOf"), message: "must be a non-empty array" });
    else schema.anyOf.forEach((s, i) => issues.push(...checkSchema(s, joinPath(joinPath(path, "anyOf"), i))));
  }
  return issues;
}
