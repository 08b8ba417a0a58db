// Cache keys. The default key is a hash of the task key, the task function's source and its
// arguments, so changing a task's code never serves a result the old code computed; arguments are
// encoded as JSON with sorted object keys, so `{a, b}` and `{b, a}` hit the same cache entry.
// Arguments that have no stable encoding (functions, symbols, promises, circular structures) make
// the key function throw UnhashableInputError, and the engine runs that call uncached.
import { createHash } from "node:crypto";
import type { FlowRunInfo } from "../tracking/tracker.ts";

/** What a `cacheKey` function can see besides the task's arguments. */
export interface CacheKeyContext {
  taskKey: string;
  taskName: string;
  /**
   * Hash of the task function's source text. Only the function's own text: code it calls and
   * values it closes over are not part of it.
   */
  taskSourceHash: string;
  flowRun: FlowRunInfo;
  /** The enclosing flow run's parameters. */
  parameters: Record<string, unknown>;
}

/** Arguments that cannot be turned into a stable cache key. */
export class UnhashableInputError extends TypeError {
  override readonly name = "UnhashableInputError";
}

/**
 * The default cache policy: same task, same task source and same arguments → same key, whatever
 * flow run calls it. Use as `cacheKey: inputsCacheKey`.
 */
export function inputsCacheKey(
  ctx: Pick<CacheKeyContext, "taskKey" | "taskSourceHash">,
  args: readonly unknown[],
): string {
  return digestKey(ctx.taskKey, ctx.taskSourceHash, args);
}

/**
 * The cache policy that leaves the task's source out: results survive edits to the task's code.
 * Use when the code changes do not change results (logging, refactors) and recomputing is costly.
 */
export function inputsOnlyCacheKey(ctx: Pick<CacheKeyContext, "taskKey">, args: readonly unknown[]): string {
  return digestKey(ctx.taskKey, "", args);
}

function digestKey(taskKey: string, sourceHash: string, args: readonly unknown[]): string {
  const digest = createHash("sha256")
    .update(taskKey)
    .update("\0")
    .update(sourceHash)
    .update("\0")
    .update(stableStringify(args))
    .digest("hex");
  return `${taskKey}-${digest.slice(0, 32)}`;
}

export function sourceHash(fn: (...args: never[]) => unknown): string {
  return createHash("sha256").update(fn.toString()).digest("hex").slice(0, 16);
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
      return undefined;
    case "function":
      throw new UnhashableInputError(`cannot build a cache key from a function (${value.name || "anonymous"})`);
    case "symbol":
      throw new UnhashableInputError("cannot build a cache key from a symbol");
  }
  if (value === null) return "null";
  const obj = value as object;
  if (seen.has(obj)) throw new UnhashableInputError("cannot build a cache key from a circular structure");
  if (obj instanceof Promise || obj instanceof WeakMap || obj instanceof WeakSet) {
    // They would all encode as {}: two different promises must not share a cache entry.
    throw new UnhashableInputError(`cannot build a cache key from a ${obj.constructor.name}`);
  }
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
