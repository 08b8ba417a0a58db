// `{{ variable }}` placeholders in a job configuration, as in Prefect's base job templates.
//
// A string that is exactly one placeholder becomes the variable's raw value, so `"{{ env }}"`
// renders to an object and `"{{ cpus }}"` to a number; a placeholder inside other text is
// interpolated as text. Keys are never rendered: they are the worker's contract, not the user's.
import { isPlainObject, joinPath } from "./json-schema.ts";

/** Anything between double braces, so a malformed name is reported instead of left in place. */
const PLACEHOLDER_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;
export const VARIABLE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export interface PlaceholderUse {
  /** Where in the configuration, e.g. `jobConfiguration.env` or `jobConfiguration.args[1]`. */
  path: string;
  name: string;
  /** The text as written, e.g. `{{ image }}`. */
  text: string;
}

export function findPlaceholders(template: unknown, path = ""): PlaceholderUse[] {
  if (typeof template === "string") {
    return [...template.matchAll(PLACEHOLDER_RE)].map((m) => ({ path, name: m[1] ?? "", text: m[0] }));
  }
  if (Array.isArray(template)) return template.flatMap((item, i) => findPlaceholders(item, joinPath(path, i)));
  if (isPlainObject(template)) {
    return Object.entries(template).flatMap(([k, v]) => findPlaceholders(v, joinPath(path, k)));
  }
  return [];
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/**
 * Renders `template` with `values`. An exact placeholder whose variable is unset or null becomes
 * null (the worker then falls back to its own default); an embedded one becomes "".
 */
export function renderTemplate(template: unknown, values: Readonly<Record<string, unknown>>): unknown {
  if (typeof template === "string") {
    const exact = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(template);
    if (exact) return structuredClone(lookup(values, exact[1] ?? "") ?? null);
    return template.replace(PLACEHOLDER_RE, (_, name: string) => asText(lookup(values, name)));
  }
  if (Array.isArray(template)) return template.map((item) => renderTemplate(item, values));
  if (isPlainObject(template)) {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, renderTemplate(v, values)]));
  }
  return template;
}

function lookup(values: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(values, name) ? values[name] : undefined;
}
