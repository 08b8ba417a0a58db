// The worker-side caches under $FLOWPLANE_HOME/cache: git checkouts by repository and commit,
// installed dependencies by lockfile, downloaded bundles by digest. Reused across runs and
// deployments; bounded in size (least recently used entries go first).
//
// Entries are immutable once made. A new one is built in a temporary directory beside it and
// renamed into place, so a crash leaves only a temporary directory (swept later), never a half
// entry. Concurrent runs wanting the same missing entry take a per-entry lock (an exclusive mkdir)
// so the work is done once; the others wait for it and use the result.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";

export interface CacheOptions {
  /** Total size bound in bytes (default 5 GiB). */
  maxBytes?: number;
  /** A lock older than this is taken to be left by a crashed process (default 15 min). */
  staleLockMs?: number;
  /** Entries used more recently than this are never evicted: a run may be using them (default 1 h). */
  minAgeMs?: number;
}

export interface CacheEntry {
  dir: string;
  /** True when the entry existed already. */
  hit: boolean;
}

const META = ".entry.json";
const DEFAULT_MAX_BYTES = 5 * 1024 ** 3;

export class Cache {
  readonly root: string;
  private readonly maxBytes: number;
  private readonly staleLockMs: number;
  private readonly minAgeMs: number;

  constructor(home: string, options: CacheOptions = {}) {
    this.root = path.join(home, "cache");
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.staleLockMs = options.staleLockMs ?? 15 * 60_000;
    this.minAgeMs = options.minAgeMs ?? 60 * 60_000;
  }

  /** The entry's directory if it exists (and marks it used), else null. */
  async lookup(kind: string, key: string): Promise<string | null> {
    const dir = this.pathOf(kind, key);
    try {
      // The entry's record sits beside it (not in it: an entry is a run's working directory), and
      // is written last, so an entry without one is incomplete and counts as missing.
      const now = new Date();
      await utimes(`${dir}${META}`, now, now);
      return dir;
    } catch {
      return null;
    }
  }

  /**
   * The entry `kind/key`, made by `produce(tempDir)` when missing. `produce` fills the directory it
   * is given; when it throws, nothing is kept and the error propagates.
   */
  async get(kind: string, key: string, produce: (dir: string) => Promise<void>): Promise<CacheEntry> {
    const found = await this.lookup(kind, key);
    if (found) return { dir: found, hit: true };
    return this.withLock(`${kind}/${key}`, async () => {
      // Another process may have made it while this one waited for the lock.
      const made = await this.lookup(kind, key);
      if (made) return { dir: made, hit: true };
      const dir = this.pathOf(kind, key);
      const temp = path.join(this.root, kind, `.tmp-${randomBytes(6).toString("hex")}`);
      await mkdir(temp, { recursive: true });
      try {
        await produce(temp);
        const bytes = await sizeOf(temp);
        await writeFile(`${temp}${META}`, JSON.stringify({ kind, key, bytes, createdAt: new Date().toISOString() }));
        // An entry left without its record by a crash is replaced (its maker is gone: we hold the lock).
        await rm(dir, { recursive: true, force: true });
        await rename(temp, dir);
        await rename(`${temp}${META}`, `${dir}${META}`);
      } catch (err) {
        await rm(temp, { recursive: true, force: true });
        await rm(`${temp}${META}`, { force: true });
        throw err;
      }
      await this.evict().catch(() => {});
      return { dir, hit: false };
    });
  }

  /** Runs `fn` holding the lock `name` (across processes sharing this cache). */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const lock = path.join(this.root, ".locks", `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.lock`);
    await mkdir(path.dirname(lock), { recursive: true });
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
      try {
        await mkdir(lock);
        await writeFile(path.join(lock, "pid"), String(process.pid));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (await this.isStale(lock)) await rm(lock, { recursive: true, force: true });
        else await new Promise((r) => setTimeout(r, delay));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }

  private async isStale(lock: string): Promise<boolean> {
    try {
      const info = await stat(lock);
      if (Date.now() - info.mtimeMs > this.staleLockMs) return true;
      const pid = Number(await readFile(path.join(lock, "pid"), "utf8").catch(() => ""));
      if (!pid) return false;
      process.kill(pid, 0);
      return false;
    } catch (err) {
      // ESRCH: its holder died (same machine). ENOENT: released meanwhile; try again.
      return (err as NodeJS.ErrnoException).code === "ESRCH";
    }
  }

  private pathOf(kind: string, key: string): string {
    return path.join(this.root, kind, key);
  }

  /**
   * Removes least recently used entries until the cache fits its bound. An entry is first renamed
   * away (atomic: a run looking it up then misses instead of seeing it half deleted), then removed.
   */
  async evict(): Promise<string[]> {
    const entries: { kind: string; key: string; bytes: number; usedAt: number }[] = [];
    for (const kind of await readdir(this.root).catch(() => [] as string[])) {
      if (kind.startsWith(".")) continue;
      for (const name of await readdir(path.join(this.root, kind)).catch(() => [] as string[])) {
        if (name.startsWith(".") || !name.endsWith(META)) continue;
        const key = name.slice(0, -META.length);
        const meta = path.join(this.root, kind, name);
        try {
          const [info, text] = await Promise.all([stat(meta), readFile(meta, "utf8")]);
          entries.push({ kind, key, bytes: (JSON.parse(text) as { bytes: number }).bytes, usedAt: info.mtimeMs });
        } catch {
          // A temporary directory or a foreign file.
        }
      }
    }
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    const removed: string[] = [];
    for (const e of entries.sort((a, b) => a.usedAt - b.usedAt)) {
      if (total <= this.maxBytes) break;
      if (Date.now() - e.usedAt < this.minAgeMs) break;
      const doomed = path.join(this.root, e.kind, `.evicted-${randomBytes(6).toString("hex")}`);
      try {
        // The record first: from then on lookups miss, and the directory can go at leisure.
        await rm(path.join(this.root, e.kind, `${e.key}${META}`));
        await rename(path.join(this.root, e.kind, e.key), doomed);
      } catch {
        continue;
      }
      await rm(doomed, { recursive: true, force: true });
      total -= e.bytes;
      removed.push(`${e.kind}/${e.key}`);
    }
    return removed;
  }
}

/** Bytes under `dir` (files as stored, symbolic links not followed). */
export async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}
