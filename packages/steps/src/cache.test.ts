import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Cache } from "./cache.ts";

let home: string;
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), "flowplane-cache-test-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** The entries' directories (not their records, nor temporary directories). */
const visible = async (dir: string) => (await readdir(dir)).filter((e) => !e.startsWith(".") && !e.endsWith(".json"));

describe("the step cache", () => {
  it("makes an entry once, even for concurrent callers, and reuses it", async () => {
    const cache = new Cache(home);
    let made = 0;
    const produce = async (dir: string) => {
      made++;
      await new Promise((r) => setTimeout(r, 50));
      await writeFile(path.join(dir, "file"), "content");
    };
    const entries = await Promise.all(Array.from({ length: 5 }, () => cache.get("git", "k", produce)));
    expect(made).toBe(1);
    expect(new Set(entries.map((e) => e.dir)).size).toBe(1);
    expect(entries.filter((e) => !e.hit)).toHaveLength(1);
    expect((await cache.get("git", "k", produce)).hit).toBe(true);
    expect(made).toBe(1);
  });

  it("keeps nothing of an entry whose making failed (regression guard: no half entry after a crash)", async () => {
    const cache = new Cache(home);
    await expect(
      cache.get("deps", "broken", async (dir) => {
        await writeFile(path.join(dir, "half"), "x");
        throw new Error("install failed");
      }),
    ).rejects.toThrow("install failed");
    expect(await cache.lookup("deps", "broken")).toBeNull();
    expect(await readdir(path.join(home, "cache/deps"))).toEqual([]);
    // The next attempt makes it afresh.
    const entry = await cache.get("deps", "broken", async (dir) => writeFile(path.join(dir, "whole"), "x"));
    expect(existsSync(path.join(entry.dir, "whole"))).toBe(true);
  });

  it("evicts the least recently used entries beyond its size bound, never recently used ones", async () => {
    const cache = new Cache(home, { maxBytes: 2500, minAgeMs: 60_000 });
    const fill = (bytes: number) => (dir: string) => writeFile(path.join(dir, "data"), Buffer.alloc(bytes));
    for (const key of ["a", "b", "c"]) await cache.get("bundles", key, fill(1000));
    // All three were just used: over the bound, but none may go (a run may be in them).
    expect(await visible(path.join(home, "cache/bundles"))).toEqual(["a", "b", "c"]);
    const hourAgo = new Date(Date.now() - 3_600_000);
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    await utimes(path.join(home, "cache/bundles/a.entry.json"), hourAgo, hourAgo);
    await utimes(path.join(home, "cache/bundles/b.entry.json"), twoHoursAgo, twoHoursAgo);
    expect(await cache.evict()).toEqual(["bundles/b"]);
    expect(await visible(path.join(home, "cache/bundles"))).toEqual(["a", "c"]);
  });

  it("takes over a lock whose holder died", async () => {
    const cache = new Cache(home);
    const lock = path.join(home, "cache/.locks/git_x.lock");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(lock, { recursive: true });
    // A pid that cannot be alive (above the kernel's pid limit).
    await writeFile(path.join(lock, "pid"), "4194305");
    const entry = await cache.get("git", "x", (dir) => writeFile(path.join(dir, "f"), "x"));
    expect(entry.hit).toBe(false);
  });
});
