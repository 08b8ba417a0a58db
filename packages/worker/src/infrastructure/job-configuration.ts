// Typed reads of a resolved job configuration for the container pools. The server validated the job
// variables against the pool's schema, but a pool's base job template may be edited freely, so every
// read checks its type and an error names the configuration key at fault.
import { randomBytes } from "node:crypto";
import { commandArgv, CommandSyntaxError } from "@flowplane/core";
import { InfrastructureError } from "./types.ts";

export class JobConfiguration {
  constructor(private readonly values: Record<string, unknown>) {}

  private fail(key: string, expected: string): never {
    throw new InfrastructureError(
      `job configuration "${key}": expected ${expected}, got ${JSON.stringify(this.values[key])}`,
    );
  }

  private isUnset(key: string): boolean {
    const v = this.values[key];
    return v === null || v === undefined || v === "";
  }

  /** A non-empty string; `fallback` when the key is unset. */
  string(key: string, fallback?: string): string {
    if (this.isUnset(key)) {
      if (fallback !== undefined) return fallback;
      this.fail(key, "a non-empty string");
    }
    const v = this.values[key];
    if (typeof v !== "string") this.fail(key, "a string");
    return v;
  }

  optionalString(key: string): string | null {
    return this.isUnset(key) ? null : this.string(key);
  }

  /** One of `allowed`; `fallback` when unset. */
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(key, fallback);
    if (!(allowed as readonly string[]).includes(v))
      this.fail(key, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
    return v as T;
  }

  boolean(key: string, fallback: boolean): boolean {
    if (this.isUnset(key)) return fallback;
    const v = this.values[key];
    if (typeof v !== "boolean") this.fail(key, "true or false");
    return v;
  }

  optionalNumber(key: string): number | null {
    if (this.isUnset(key)) return null;
    const v = this.values[key];
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(key, "a number");
    return v;
  }

  /** A deadline given in seconds (more than 0), in milliseconds; null when unset. */
  optionalSecondsAsMs(key: string): number | null {
    const seconds = this.optionalNumber(key);
    if (seconds === null) return null;
    if (!(seconds > 0)) this.fail(key, "a number > 0");
    return seconds * 1000;
  }

  /** A string, or a number given where the platform takes text (ECS cpu "1024"). */
  optionalText(key: string): string | null {
    if (this.isUnset(key)) return null;
    const v = this.values[key];
    if (typeof v === "number" && Number.isFinite(v)) return String(v);
    if (typeof v !== "string") this.fail(key, "a string or a number");
    return v;
  }

  stringList(key: string): string[] {
    if (this.isUnset(key)) return [];
    const v = this.values[key];
    if (!Array.isArray(v) || !v.every((i): i is string => typeof i === "string")) this.fail(key, "a list of strings");
    return v;
  }

  /** A string map; null values (an inherited key removed by a deployment or run) are dropped. */
  stringMap(key: string): Record<string, string> {
    if (this.isUnset(key)) return {};
    const v = this.values[key];
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(key, "an object of strings");
    const out: Record<string, string> = {};
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      if (item === null || item === undefined) continue;
      if (typeof item === "object") this.fail(key, "an object of strings");
      out[k] = String(item);
    }
    return out;
  }

  /** The argv of `command`, or null: the pool's default. */
  command(key = "command"): string[] | null {
    try {
      const argv = commandArgv(this.values[key]);
      if (argv && argv.length === 0) return null;
      return argv;
    } catch (err) {
      if (err instanceof CommandSyntaxError)
        throw new InfrastructureError(`job configuration "${key}": ${err.message}`);
      throw err;
    }
  }

  raw(key: string): unknown {
    return this.values[key];
  }
}

/** A short random suffix for platform names (containers, Jobs) that must be unique per attempt. */
export function randomSuffix(): string {
  return randomBytes(3).toString("hex");
}

/** Lower-case letters, digits and dashes only, as container and Kubernetes names require. */
export function slug(text: string, maxLength: number): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return s.slice(0, maxLength).replace(/-+$/, "");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
