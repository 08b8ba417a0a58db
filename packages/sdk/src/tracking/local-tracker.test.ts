import { afterEach, describe, expect, it, vi } from "vitest";
import { configure, resetConfig } from "../config.ts";
import { getRunLogger } from "../context.ts";
import { flow } from "../flow.ts";
import { task } from "../task.ts";
import { LocalTracker } from "./local-tracker.ts";
import { getTracker, setTracker } from "./select.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

afterEach(() => {
  setTracker(undefined);
  resetConfig();
});

function captured(): { tracker: LocalTracker; output: string[] } {
  const output: string[] = [];
  const tracker = new LocalTracker({ write: (t) => void output.push(t) });
  setTracker(tracker);
  return { tracker, output };
}

describe("LocalTracker", () => {
  it("prints one summary line when the outermost flow run ends, counting sub-flow task runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "flowplane-local-"));
    configure({ resultsDir: dir });
    try {
      const { output } = captured();
      const step = task({ name: "step" }, (x: number) => x);
      const cached = task({ name: "cached_step", cacheKey: () => "same" }, () => 1);
      const child = flow({ name: "child" }, async () => {
        await step(1);
        await cached();
      });
      const etl = flow({ name: "etl_pipeline" }, async () => {
        await step.map([1, 2, 3]);
        await cached();
        await child();
      });
      await etl();
      expect(output).toHaveLength(1);
      expect(output[0]).toMatch(
        /^flowplane: flow run 'etl_pipeline' \([a-z]+-[a-z]+\) COMPLETED in \d+(ms|\.\ds) — 7 task runs \(6 completed, 1 cached\)\n$/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports failures in the summary", async () => {
    const { output } = captured();
    const bad = task({ name: "bad" }, () => {
      throw new Error("x");
    });
    await flow({ name: "failing" }, async () => bad())().catch(() => undefined);
    expect(output.at(-1)).toMatch(/'failing' \(.+\) FAILED in .* — 1 task run \(1 failed\)\n$/);
  });

  it("mirrors run log lines to its output but not captured prints", async () => {
    const { output } = captured();
    await flow({ name: "talky", logPrints: true }, async () => {
      getRunLogger().info("from logger");
      console.log("from print");
    })();
    const logLines = output.filter((l) => !l.startsWith("flowplane:"));
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \| INFO +\| Flow run '[a-z]+-[a-z]+' - from logger\n$/);
  });

  it("is silent with FLOWPLANE_QUIET=1", async () => {
    vi.stubEnv("FLOWPLANE_QUIET", "1");
    try {
      const { output } = captured();
      await flow({ name: "shh_env" }, async () => getRunLogger().info("x"))();
      expect(output).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("is silent when quiet", async () => {
    configure({ quiet: true });
    const { output } = captured();
    await flow({ name: "shh" }, async () => getRunLogger().info("x"))();
    expect(output).toEqual([]);
  });

  it("forgets a finished tree of runs", async () => {
    const { tracker } = captured();
    const t = task({ name: "t" }, () => 1);
    await flow({ name: "forget" }, async () => t())();
    const internals = tracker as unknown as {
      tasks: Map<string, unknown>;
      roots: Map<string, unknown>;
      book: { runs: Map<string, unknown> };
    };
    expect(internals.tasks.size).toBe(0);
    expect(internals.roots.size).toBe(0);
    expect(internals.book.runs.size).toBe(0);
  });

  it("retries flows the way the server would", async () => {
    captured();
    let calls = 0;
    const f = flow({ name: "local_retry", retries: 1, retryDelaySeconds: 0.01 }, async () => {
      if (++calls === 1) throw new Error("once");
      return calls;
    });
    expect(await f()).toBe(2);
  });
});

describe("tracker selection", () => {
  it("defaults to a LocalTracker and honours setTracker", () => {
    setTracker(undefined);
    const fallback = getTracker();
    expect(fallback).toBeInstanceOf(LocalTracker);
    expect(getTracker()).toBe(fallback);
    const mine = new LocalTracker();
    setTracker(mine);
    expect(getTracker()).toBe(mine);
  });
});
