// Cache keys: the default key is a hash of the task key and its arguments. JSON with sorted object
// keys, so `{a, b}` and `{b, a}` hit the same cache entry.
import { createHash } from "node:crypto";
import type { FlowRunInfo } from "../tracking/tracker.ts";

/** What a `cacheKey` function can see besides the task's arguments. */
export interface CacheKeyContext {
  taskKey: string;
  taskName: string;
  flowRun: FlowRunInfo;
  /** The enclosing flow run's parameters. */
  parameters: Record<string, unknown>;
}

/**
 * Default cache key: same task + same arguments → same key, whatever flow run calls it.
 * Use as `cacheKey: inputsCacheKey`.
 */
export function inputsCacheKey(ctx: Pick<CacheKeyContext, "taskKey">, args: readonly unknown[]): string {
  const digest = createHash("sha256").update(ctx.taskKey).update("\0").update(stableStringify(args)).digest("hex");
  return `${ctx.taskKey}-${digest.slice(0, 32)}`;
}

/** JSON with object keys sorted; Maps, Sets and bigints are given stable encodings. */
export function stableStringify(value: unknown): string {
  return encode(value, new Set()) ?? "null";
}

function encode(value: unknown, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return JSON.stringify(`${value}n`);
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return "null";
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError("cannot build a cache key from a circular structure");
  seen.add(obj);
  try {
    if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
      return encode((obj as { toJSON(): unknown }).toJSON(), seen);
    }
    if (Array.isArray(obj)) return `[${obj.map((v) => encode(v, seen) ?? "null").join(",")}]`;
    if (obj instanceof Map) {
      const entries = [...obj.entries()].map(([k, v]) => `[${encode(k, seen) ?? "null"},${encode(v, seen) ?? "null"}]`);
      return `{"$map":[${entries.sort().join(",")}]}`;
    }
    if (obj instanceof Set) {
      return `{"$set":[${[...obj]
        .map((v) => encode(v, seen) ?? "null")
        .sort()
        .join(",")}]}`;
    }
    const parts: string[] = [];
    for (const key of Object.keys(obj).sort()) {
      const v = encode((obj as Record<string, unknown>)[key], seen);
      if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
    }
    return `{${parts.join(",")}}`;
  } finally {
    seen.delete(obj);
  }
}
