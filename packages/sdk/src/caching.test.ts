import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { configure, resetConfig } from "./config.ts";
import { flow } from "./flow.ts";
import { inputsCacheKey } from "./results/cache-key.ts";
import { resultStore } from "./results/store.ts";
import { task } from "./task.ts";
import { recordingBody, rejectionOf, runScript, sdkEntry, throwing, useTestEnv } from "./test-support.ts";
import { TaskRunError } from "./errors.ts";

const env = useTestEnv();

function cachedFlow(options: { expiration?: number; refresh?: boolean } = {}) {
  const calls: number[] = [];
  const fetch = task(
    {
      name: "cached_fetch",
      cacheKey: inputsCacheKey,
      ...(options.expiration !== undefined ? { cacheExpirationSeconds: options.expiration } : {}),
      ...(options.refresh !== undefined ? { refreshCache: options.refresh } : {}),
    },
    async (n: number) => {
      calls.push(n);
      return { n, at: calls.length };
    },
  );
  const run = flow({ name: "cache_flow" }, async (n: number) => fetch(n));
  return { run, calls };
}

function statesOfTask(taskName: string): string[][] {
  return env.tracker.taskRuns.filter((r) => r.record.name.startsWith(taskName)).map((r) => r.states.map((s) => s.name));
}

describe("result caching across flow runs", () => {
  it("misses, stores, then serves the stored value as a Cached run without calling the function", async () => {
    const { run, calls } = cachedFlow();
    expect(await run(1)).toEqual({ n: 1, at: 1 });
    expect(await run(1)).toEqual({ n: 1, at: 1 });
    expect(calls).toEqual([1]);
    expect(statesOfTask("cached_fetch")).toEqual([
      ["Pending", "Running", "Completed"],
      ["Pending", "Cached"],
    ]);
    const cached = env.tracker.taskRuns[1]!;
    expect(cached.states[1]).toMatchObject({ type: "COMPLETED", details: { cacheKey: cached.record.cacheKey } });
    expect(cached.record.cacheKey).toBe(env.tracker.taskRuns[0]!.record.cacheKey);
  });

  it("sends and stores a cache key longer than the control plane keeps as its SHA-256, and still hits (regression: the whole state was refused)", async () => {
    const calls: string[] = [];
    const longKeyed = task({ name: "long_keyed", cacheKey: (_ctx, [text]) => `long:${text}` }, async (text: string) => {
      calls.push(text);
      return text.length;
    });
    const run = flow({ name: "long_key_flow" }, async (text: string) => longKeyed(text));
    const text = "x".repeat(5_000);
    expect(await run(text)).toBe(5_000);
    expect(await run(text)).toBe(5_000);
    expect(calls).toHaveLength(1);
    const [first, second] = env.tracker.taskRuns.filter((r) => r.record.name.startsWith("long_keyed"));
    expect(first!.record.cacheKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(second!.record.cacheKey).toBe(first!.record.cacheKey);
    expect(second!.states.map((s) => s.name)).toEqual(["Pending", "Cached"]);
  });

  it("misses on different arguments", async () => {
    const { run, calls } = cachedFlow();
    await run(1);
    await run(2);
    expect(calls).toEqual([1, 2]);
  });

  it("stops hitting once the entry expires", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const { run, calls } = cachedFlow({ expiration: 60 });
      await run(1);
      vi.setSystemTime(Date.now() + 30_000);
      await run(1);
      expect(calls).toEqual([1]);
      vi.setSystemTime(Date.now() + 31_000);
      expect(await run(1)).toEqual({ n: 1, at: 2 });
      expect(calls).toEqual([1, 1]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("records the expiration on the completed state", async () => {
    const { run } = cachedFlow({ expiration: 60 });
    const before = Date.now();
    await run(1);
    const done = env.tracker.taskRuns[0]!.states.at(-1)!;
    const exp = Date.parse(done.details.cacheExpiration!);
    expect(exp).toBeGreaterThanOrEqual(before + 60_000);
    expect(exp).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it("runs anyway and overwrites the entry with refreshCache", async () => {
    const first = cachedFlow();
    await first.run(1);
    const refreshing = cachedFlow({ refresh: true });
    expect(await refreshing.run(1)).toEqual({ n: 1, at: 1 });
    expect(refreshing.calls).toEqual([1]);
    const key = env.tracker.taskRuns[0]!.record.cacheKey!;
    expect((await resultStore().read(key))?.value).toEqual({ n: 1, at: 1 });
    expect(statesOfTask("cached_fetch")[1]).toEqual(["Pending", "Running", "Completed"]);
  });

  it("does not cache a call whose key function returns null", async () => {
    let calls = 0;
    const t = task(
      { name: "sometimes_cached", cacheKey: (_ctx, [n]) => (n > 0 ? `pos-${n}` : null) },
      async (_n: number) => ++calls,
    );
    const f = flow({ name: "null_key" }, async () => [await t(0), await t(0), await t(1), await t(1)]);
    expect(await f()).toEqual([1, 2, 3, 3]);
    expect(env.tracker.taskRuns[0]!.record.cacheKey).toBeUndefined();
  });

  it("gives the key function the task key, flow run and parameters", async () => {
    const seen: unknown[] = [];
    const t = task(
      {
        name: "ctx_key",
        cacheKey: (ctx, args) => {
          seen.push({
            taskKey: ctx.taskKey,
            taskName: ctx.taskName,
            params: ctx.parameters,
            flowRunId: ctx.flowRun.id,
            args,
          });
          return "k";
        },
      },
      async (a: string) => a,
    );
    await flow({ name: "key_ctx" }, async (p: { day: string }) => t(p.day))({ day: "mon" });
    expect(seen).toEqual([
      {
        taskKey: "ctx_key",
        taskName: "ctx_key",
        params: { day: "mon" },
        flowRunId: env.tracker.flowRuns[0]!.info.id,
        args: ["mon"],
      },
    ]);
  });

  it("fails the task run (without running it) when the key function throws", async () => {
    const recording = recordingBody();
    const t = task({ name: "bad_key", cacheKey: throwing("no key") }, recording.body);
    const err = await flow({ name: "bad_key_flow" }, async () => rejectionOf(t()))();
    expect(err).toBeInstanceOf(TaskRunError);
    expect(recording.ran).toBe(false);
    expect(statesOfTask("bad_key")).toEqual([["Pending", "Failed"]]);
  });

  it("writes results atomically under the configured directory as JSON with expiry metadata", async () => {
    const { run } = cachedFlow({ expiration: 10 });
    await run(7);
    const files = await readdir(env.resultsDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^cached_fetch-[0-9a-f]{32}\.json$/);
    const stored = JSON.parse(await readFile(join(env.resultsDir, files[0]!), "utf8")) as Record<string, unknown>;
    expect(stored).toMatchObject({ version: 1, value: { n: 7, at: 1 } });
    expect(typeof stored.expiresAt).toBe("string");
  });

  it("persists results without caching when persistResult is set", async () => {
    const t = task({ name: "persisted", persistResult: true }, async () => ({ ok: true }));
    await flow({ name: "persist_flow" }, async () => t())();
    const done = env.tracker.taskRuns[0]!.states.at(-1)!;
    expect(done.details.resultRef).toBe(`task-run-${env.tracker.taskRuns[0]!.record.id}`);
    expect((await resultStore().read(done.details.resultRef!))?.value).toEqual({ ok: true });
  });

  it("skips persistence when persistResult is false, so nothing is cached", async () => {
    let calls = 0;
    const t = task({ name: "unpersisted", cacheKey: () => "fixed", persistResult: false }, async () => ++calls);
    const f = flow({ name: "unpersisted_flow" }, async () => [await t(), await t()]);
    expect(await f()).toEqual([1, 2]);
    expect(await readdir(env.resultsDir)).toEqual([]);
  });

  it("completes the run even when the result cannot be stored", async () => {
    const t = task({ name: "bigint_result", cacheKey: () => "big" }, async () => 10n);
    expect(await flow({ name: "bigint_flow" }, async () => t())()).toBe(10n);
    expect(env.tracker.taskRuns[0]!.states.at(-1)?.name).toBe("Completed");
    expect(env.tracker.logs.some((l) => l.level === 30 && l.message.includes("not persisted"))).toBe(true);
  });

  it("reads the results directory from FLOWPLANE_RESULTS_DIR when not configured", async () => {
    const fromEnv = join(env.resultsDir, "from-env");
    resetConfig();
    configure({ quiet: true });
    vi.stubEnv("FLOWPLANE_RESULTS_DIR", fromEnv);
    try {
      const { run } = cachedFlow();
      await run(4);
      expect(await readdir(fromEnv)).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("defaults the results directory to $FLOWPLANE_HOME/results", () => {
    resetConfig();
    vi.stubEnv("FLOWPLANE_RESULTS_DIR", "");
    vi.stubEnv("FLOWPLANE_HOME", "/srv/fp");
    try {
      expect(resultStore().dir).toBe(join("/srv/fp", "results"));
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("reads the results directory from configure()", async () => {
    const other = join(env.resultsDir, "elsewhere");
    configure({ resultsDir: other });
    const { run } = cachedFlow();
    await run(3);
    expect(await readdir(other)).toHaveLength(1);
  });
});

describe("cache keys that cannot serve stale results", () => {
  // Each version of the task runs in its own process, as before and after a deploy: there the
  // task keys are equal (both the bare name), so only the source can tell the versions apart.
  const runVersion = (body: string, cacheKey: "inputsCacheKey" | "inputsOnlyCacheKey") =>
    JSON.parse(
      runScript(
        `
        import { flow, task, MemoryTracker, setTracker, ${cacheKey} } from ${JSON.stringify(sdkEntry)};
        const tracker = new MemoryTracker();
        setTracker(tracker);
        const evolving = task({ name: "evolving", cacheKey: ${cacheKey} }, (x) => ${body});
        const value = await flow({ name: "versions" }, () => evolving(1))();
        process.stderr.write(JSON.stringify({ value, state: tracker.taskRuns[0].states.at(-1).name }));
      `,
        { FLOWPLANE_RESULTS_DIR: env.resultsDir },
      ),
    ) as { value: number; state: string };

  it("miss after the task's code changed, with the default key (regression: the old result came back)", () => {
    expect(runVersion("x + 1", "inputsCacheKey")).toEqual({ value: 2, state: "Completed" });
    expect(runVersion("x + 1", "inputsCacheKey")).toEqual({ value: 2, state: "Cached" });
    expect(runVersion("x + 100", "inputsCacheKey")).toEqual({ value: 101, state: "Completed" });
  });

  it("hit across code changes with inputsOnlyCacheKey, the policy that leaves the source out", () => {
    expect(runVersion("x + 1", "inputsOnlyCacheKey")).toEqual({ value: 2, state: "Completed" });
    expect(runVersion("x + 100", "inputsOnlyCacheKey")).toEqual({ value: 2, state: "Cached" });
  });

  it("serve a task called outside any flow from the cache too (regression: it ran uncached)", async () => {
    let calls = 0;
    const standalone = task({ name: "standalone_cached", cacheKey: inputsCacheKey }, (n: number) => {
      calls++;
      return n * 2;
    });
    expect(await standalone(4)).toBe(8);
    expect(await standalone(4)).toBe(8);
    expect(calls).toBe(1);
    expect(statesOfTask("standalone_cached").map((s) => s.at(-1))).toEqual(["Completed", "Cached"]);
  });

  it("run uncached with a warning when an argument cannot be hashed, instead of failing", async () => {
    let calls = 0;
    const withCallback = task({ name: "with_callback", cacheKey: inputsCacheKey }, (n: number, cb: () => number) => {
      calls++;
      return n + cb();
    });
    const f = flow({ name: "unhashable" }, () => withCallback(1, () => 2));
    expect(await f()).toBe(3);
    expect(await f()).toBe(3);
    expect(calls).toBe(2);
    const [first] = env.tracker.taskRuns;
    expect(first?.record.cacheKey).toBeUndefined();
    expect(first?.states.at(-1)?.type).toBe("COMPLETED");
    expect(env.tracker.logsOf(first!.record.id)).toContainEqual(
      expect.objectContaining({
        level: 30,
        message: expect.stringMatching(/Not cached: cannot build a cache key from a function/),
      }),
    );
  });
});
