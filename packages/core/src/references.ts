// `{{ secret.NAME }}` and `{{ variable.NAME }}` references in deployment parameters, job variables
// and pull steps. They are stored as written and resolved only where the value is used (the worker
// for job variables, the run for its parameters and pull steps), so no resolved secret is ever
// stored on a run.
//
// A string that is exactly one reference becomes the referenced value itself (a variable's JSON
// object stays an object); a reference inside other text is interpolated as text.

/** Secret and variable names: environment-variable shaped, so FLOWPLANE_SECRET_<NAME> can carry them. */
export const SECRET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

// One syntax for every reference, `{{ KIND.NAME }}`: `secret` and `variable` (resolved from the
// control plane), `env` (the environment where the value is used) and, in flowplane.yaml steps,
// `STEP-ID.OUTPUT` (an output of an earlier step). Each caller resolves the kinds it knows and
// leaves the others as written, so a job variable's `{{ env.HOME }}` survives the worker untouched.
const REFERENCE_RE = /\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;
const EXACT_RE = /^\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}$/;

export interface References {
  secrets: string[];
  variables: string[];
  /** `{{ env.NAME }}`: environment variables. */
  env: string[];
  /** `{{ step-id.output }}`: step outputs, as `step-id.output`. */
  outputs: string[];
}

type Kind = keyof References;

function kindOf(prefix: string, name: string): Kind | null {
  switch (prefix) {
    case "secret":
      return SECRET_NAME_RE.test(name) ? "secrets" : null;
    case "variable":
      return SECRET_NAME_RE.test(name) ? "variables" : null;
    case "env":
      return "env";
    default:
      return "outputs";
  }
}

function keyOf(kind: Kind, prefix: string, name: string): string {
  return kind === "outputs" ? `${prefix}.${name}` : name;
}

/** Every reference named anywhere in `value` (strings inside objects and arrays), by kind, sorted, unique. */
export function findReferences(value: unknown): References {
  const found: Record<Kind, Set<string>> = {
    secrets: new Set(),
    variables: new Set(),
    env: new Set(),
    outputs: new Set(),
  };
  const walk = (v: unknown): void => {
    if (typeof v === "string") {
      for (const m of v.matchAll(REFERENCE_RE)) {
        const kind = kindOf(m[1]!, m[2]!);
        if (kind) found[kind].add(keyOf(kind, m[1]!, m[2]!));
      }
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(value);
  return {
    secrets: [...found.secrets].sort(),
    variables: [...found.variables].sort(),
    env: [...found.env].sort(),
    outputs: [...found.outputs].sort(),
  };
}

export interface ReferenceValues {
  secrets: Readonly<Record<string, string>>;
  variables: Readonly<Record<string, unknown>>;
  /** Given: `{{ env.NAME }}` resolves (to "" when unset); absent: left as written. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Given: `{{ step-id.output }}` resolves from it (keys `step-id.output`); absent: left as written. */
  outputs?: Readonly<Record<string, unknown>>;
}

const UNRESOLVED = Symbol("unresolved");

/**
 * `value` with every reference of a kind given in `values` replaced. Callers resolve
 * `findReferences(value)` first and fail on missing names; a secret, variable or output absent from
 * its table here is a programming error and throws.
 */
export function resolveReferences(value: unknown, values: ReferenceValues): unknown {
  const lookup = (prefix: string, name: string): unknown => {
    const kind = kindOf(prefix, name);
    if (kind === null) return UNRESOLVED;
    if (kind === "env") return values.env ? (values.env[name] ?? "") : UNRESOLVED;
    const table: Readonly<Record<string, unknown>> | undefined =
      kind === "secrets" ? values.secrets : kind === "variables" ? values.variables : values.outputs;
    if (!table) return UNRESOLVED;
    const key = keyOf(kind, prefix, name);
    if (!Object.hasOwn(table, key))
      throw new Error(`${kind === "outputs" ? "step output" : prefix} "${key}" was not resolved`);
    return table[key];
  };
  if (typeof value === "string") {
    const exact = EXACT_RE.exec(value);
    if (exact) {
      const v = lookup(exact[1]!, exact[2]!);
      return v === UNRESOLVED ? value : structuredClone(v);
    }
    return value.replace(REFERENCE_RE, (whole, prefix: string, name: string) => {
      const v = lookup(prefix, name);
      if (v === UNRESOLVED) return whole;
      return typeof v === "string" ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, values));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, values)]));
  return value;
}
