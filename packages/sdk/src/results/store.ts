// Persisted task results, one JSON file per key under the results directory. Files are written to
// a temp name and renamed into place, so a concurrent reader (another flow run, another process
// sharing the cache) sees either the old complete file or the new complete file, never half.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { resultsDir } from "../config.ts";
import { uuidv7 } from "@flowplane/core";

export interface StoredResult {
  key: string;
  value: unknown;
  createdAt: string;
  /** ISO time after which the result no longer serves cache hits; null = never expires. */
  expiresAt: string | null;
}

interface ResultFile extends StoredResult {
  version: 1;
}

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export class ResultStore {
  private ready: Promise<unknown> | undefined;

  constructor(readonly dir: string) {}

  /** Where `key` lives. Keys that are not filename-safe are hashed (the key is kept inside). */
  pathFor(key: string): string {
    const name = SAFE_KEY.test(key) ? key : `sha256-${createHash("sha256").update(key).digest("hex")}`;
    return join(this.dir, `${name}.json`);
  }

  /** The stored result, or undefined when there is none, it is unreadable, or it has expired. */
  async read(key: string, now: number = Date.now()): Promise<StoredResult | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathFor(key), "utf8");
    } catch {
      return undefined;
    }
    let file: ResultFile;
    try {
      file = JSON.parse(text) as ResultFile;
    } catch {
      return undefined; // a corrupt entry is a cache miss; the next write replaces it
    }
    if (file.version !== 1 || file.key !== key) return undefined;
    if (file.expiresAt !== null && Date.parse(file.expiresAt) <= now) return undefined;
    return { key: file.key, value: file.value, createdAt: file.createdAt, expiresAt: file.expiresAt };
  }

  /** Stores `value` as JSON (Dates become ISO strings, as with JSON.stringify). */
  async write(key: string, value: unknown, options: { expiresAt?: Date | null } = {}): Promise<StoredResult> {
    const result: StoredResult = {
      key,
      value,
      createdAt: new Date().toISOString(),
      expiresAt: options.expiresAt ? options.expiresAt.toISOString() : null,
    };
    const file: ResultFile = { version: 1, ...result };
    const text = JSON.stringify(file); // throws on bigint/cycles before touching the disk
    await (this.ready ??= mkdir(this.dir, { recursive: true }));
    const target = this.pathFor(key);
    const temp = `${target}.${uuidv7()}.tmp`;
    try {
      await writeFile(temp, text, "utf8");
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      this.ready = undefined; // the directory may have been removed under us
      throw err;
    }
    return result;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathFor(key), { force: true });
  }
}

const stores = new Map<string, ResultStore>();

/** The store for the configured results directory (FLOWPLANE_RESULTS_DIR / configure()). */
export function resultStore(dir: string = resultsDir()): ResultStore {
  let store = stores.get(dir);
  if (store === undefined) {
    store = new ResultStore(dir);
    stores.set(dir, store);
  }
  return store;
}
