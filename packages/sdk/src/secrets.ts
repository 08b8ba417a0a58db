// getSecret() / getVariable(): configuration a flow reads at run time. In a run a worker launched,
// values come from the control plane (each secret read recorded there) and are cached for the run;
// anywhere else — a plain script, a test — they come from FLOWPLANE_SECRET_<NAME> and
// FLOWPLANE_VARIABLE_<NAME>. Every secret value a run obtains is redacted (`***`) from what it writes.
import {
  findReferences,
  Redactor,
  resolveReferences,
  SECRET_NAME_RE,
  type References,
  type ReferenceValues,
} from "@flowplane/core";
import type { ApiClient } from "@flowplane/client";

/** JSON as a variable holds it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A secret or variable a run asked for exists neither in its workspace nor, locally, in the environment. */
abstract class NotFoundError extends Error {
  constructor(kind: "secret" | "variable", name: string, where: string) {
    super(`${kind} "${name}" does not exist (${where})`);
  }
}

export class SecretNotFoundError extends NotFoundError {
  override name = "SecretNotFoundError";
  constructor(
    readonly secretName: string,
    where: string,
  ) {
    super("secret", secretName, where);
  }
}

export class VariableNotFoundError extends NotFoundError {
  override name = "VariableNotFoundError";
  constructor(
    readonly variableName: string,
    where: string,
  ) {
    super("variable", variableName, where);
  }
}

/** The process-wide redactor: one process runs one flow run (or one local script). */
export const runRedactor = new Redactor();

interface RemoteSource {
  api: ApiClient;
  flowRunId: string;
}

let remote: RemoteSource | null = null;
const secretCache = new Map<string, Promise<string>>();
const variableCache = new Map<string, Promise<JsonValue>>();

/** Called by the runner: reads go to the control plane for this flow run. */
export function useControlPlaneSecrets(source: RemoteSource): void {
  remote = source;
  secretCache.clear();
  variableCache.clear();
}

function checkName(kind: "secret" | "variable", name: string): void {
  if (!SECRET_NAME_RE.test(name))
    throw new TypeError(
      `${kind} name ${JSON.stringify(name)}: use letters, digits and '_', starting with a letter or '_'`,
    );
}

/** `name` from a run's `cache`, loaded once; a failed load is not cached, so the next call asks again. */
function cachedRead<T>(cache: Map<string, Promise<T>>, name: string, load: () => Promise<T>): Promise<T> {
  let cached = cache.get(name);
  if (!cached) {
    cached = load();
    cache.set(name, cached);
    cached.catch(() => cache.delete(name));
  }
  return cached;
}

/** A secret's value, cached for the run; its value is redacted from everything the run writes. */
export function getSecret(name: string): Promise<string> {
  checkName("secret", name);
  return cachedRead(secretCache, name, () => loadSecrets([name]).then((values) => values[name]!));
}

/** A variable's JSON value, cached for the run. */
export function getVariable<T extends JsonValue = JsonValue>(name: string): Promise<T> {
  checkName("variable", name);
  return cachedRead(variableCache, name, () =>
    loadVariables([name]).then((values) => values[name] as JsonValue),
  ) as Promise<T>;
}

async function loadSecrets(names: readonly string[]): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  if (remote) {
    const answer = await remote.api.secrets.resolveForRun.mutate({
      flowRunId: remote.flowRunId,
      names: [...names],
    });
    const missing = answer.missing[0];
    if (missing !== undefined) throw new SecretNotFoundError(missing, "in this workspace");
    Object.assign(values, answer.values);
  } else {
    for (const name of names) {
      const value = process.env[`FLOWPLANE_SECRET_${name}`];
      if (value === undefined) throw new SecretNotFoundError(name, `set FLOWPLANE_SECRET_${name} to run locally`);
      values[name] = value;
    }
  }
  for (const value of Object.values(values)) runRedactor.add(value);
  return values;
}

async function loadVariables(names: readonly string[]): Promise<Record<string, JsonValue>> {
  if (remote) {
    const answer = await remote.api.variables.getMany.query({ names: [...names] });
    const missing = answer.missing[0];
    if (missing !== undefined) throw new VariableNotFoundError(missing, "in this workspace");
    return answer.values as Record<string, JsonValue>;
  }
  const values: Record<string, JsonValue> = {};
  for (const name of names) {
    const raw = process.env[`FLOWPLANE_VARIABLE_${name}`];
    if (raw === undefined) throw new VariableNotFoundError(name, `set FLOWPLANE_VARIABLE_${name} to run locally`);
    // JSON when it parses (`{"a":1}`, `3`, `true`), otherwise the text itself.
    try {
      values[name] = JSON.parse(raw) as JsonValue;
    } catch {
      values[name] = raw;
    }
  }
  return values;
}

/**
 * Resolves `{{ secret.NAME }}` / `{{ variable.NAME }}` references in `value` (a run's parameters),
 * filling the run's caches; throws SecretNotFoundError / VariableNotFoundError naming the first
 * missing one.
 */
export async function resolveRunReferences(value: unknown): Promise<unknown> {
  const refs: References = findReferences(value);
  if (refs.secrets.length === 0 && refs.variables.length === 0) return value;
  const values: ReferenceValues = {
    secrets: refs.secrets.length ? await loadSecrets(refs.secrets) : {},
    variables: refs.variables.length ? await loadVariables(refs.variables) : {},
  };
  for (const [name, v] of Object.entries(values.secrets)) secretCache.set(name, Promise.resolve(v));
  for (const [name, v] of Object.entries(values.variables)) variableCache.set(name, Promise.resolve(v as JsonValue));
  return resolveReferences(value, values);
}

/** Secrets the worker resolved into this run's job (FLOWPLANE_REDACT_SECRETS): read so they are redacted too. */
export async function loadSecretsToRedact(names: readonly string[]): Promise<void> {
  if (names.length > 0) await loadSecrets(names);
}
