// `{{ secret.NAME }}` and `{{ variable.NAME }}` references in deployment parameters and job
// variables. They are stored as written and resolved only where the value is used (the worker for
// job variables, the run for its parameters), so no resolved secret is ever stored on a run.
//
// A string that is exactly one reference becomes the referenced value itself (a variable's JSON
// object stays an object); a reference inside other text is interpolated as text.

/** Secret and variable names: environment-variable shaped, so FLOWPLANE_SECRET_<NAME> can carry them. */
export const SECRET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

const REFERENCE_RE = /\{\{\s*(secret|variable)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const EXACT_RE = /^\{\{\s*(secret|variable)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;

export interface References {
  secrets: string[];
  variables: string[];
}

/** Every secret and variable named anywhere in `value` (strings inside objects and arrays), sorted, unique. */
export function findReferences(value: unknown): References {
  const secrets = new Set<string>();
  const variables = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === "string") {
      for (const m of v.matchAll(REFERENCE_RE)) (m[1] === "secret" ? secrets : variables).add(m[2]!);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(value);
  return { secrets: [...secrets].sort(), variables: [...variables].sort() };
}

export interface ReferenceValues {
  secrets: Readonly<Record<string, string>>;
  variables: Readonly<Record<string, unknown>>;
}

/**
 * `value` with every reference replaced. Callers resolve `findReferences(value)` first and fail on
 * missing names; a name absent from `values` here is a programming error and throws.
 */
export function resolveReferences(value: unknown, values: ReferenceValues): unknown {
  const lookup = (kind: string, name: string): unknown => {
    const table: Readonly<Record<string, unknown>> = kind === "secret" ? values.secrets : values.variables;
    if (!Object.hasOwn(table, name)) throw new Error(`${kind} "${name}" was not resolved`);
    return table[name];
  };
  if (typeof value === "string") {
    const exact = EXACT_RE.exec(value);
    if (exact) return structuredClone(lookup(exact[1]!, exact[2]!));
    return value.replace(REFERENCE_RE, (_, kind: string, name: string) => {
      const v = lookup(kind, name);
      return typeof v === "string" ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, values));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, values)]));
  return value;
}
