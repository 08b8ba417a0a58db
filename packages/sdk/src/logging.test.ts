import { describe, expect, it, vi } from "vitest";
import { createLinkArtifact, createMarkdownArtifact, createTableArtifact, toTable } from "./artifacts.ts";
import { configure } from "./config.ts";
import { getRunContext, getRunLogger } from "./context.ts";
import { flow } from "./flow.ts";
import { task } from "./task.ts";
import { runScript, sdkEntry, useTestEnv } from "./test-support.ts";

const env = useTestEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("run logger", () => {
  it("records flow and task lines with run ids, levels and formatting", async () => {
    const t = task({ name: "logging_task" }, async () => {
      getRunLogger().warn("task says %d", 42);
      return getRunContext().taskRun!.id;
    });
    const f = flow({ name: "logging_flow" }, async () => {
      getRunLogger().info("flow says hi");
      getRunLogger().critical({ a: 1 });
      return { taskRunId: await t(), flowRunId: getRunContext().flowRun.id };
    });
    const { taskRunId, flowRunId } = await f();
    const lines = env.tracker.logs.map((l) => ({
      level: l.level,
      message: l.message,
      taskRunId: l.taskRunId,
      flowRunId: l.flowRunId,
      name: l.name,
    }));
    expect(lines).toEqual([
      { level: 20, message: "flow says hi", taskRunId: undefined, flowRunId, name: "flowplane.flow_runs" },
      { level: 50, message: "{ a: 1 }", taskRunId: undefined, flowRunId, name: "flowplane.flow_runs" },
      { level: 30, message: "task says 42", taskRunId, flowRunId, name: "flowplane.task_runs" },
    ]);
    expect(env.tracker.logs.every((l) => /^[0-9a-f-]{36}$/.test(l.id))).toBe(true);
  });

  it("drops lines below the configured level", async () => {
    const f = flow({ name: "levels" }, async () => {
      getRunLogger().debug("hidden");
      configure({ logLevel: "DEBUG" });
      getRunLogger().debug("shown");
    });
    await f();
    expect(env.tracker.logs.map((l) => l.message)).toEqual(["shown"]);
  });

  it("works outside any run without throwing", () => {
    expect(() => getRunLogger().debug("not in a run")).not.toThrow();
    expect(() => getRunContext()).toThrow(/outside a flow run/);
  });
});

describe("logPrints", () => {
  it("records console output of the run (and still prints it)", async () => {
    const f = flow({ name: "printing", logPrints: true }, async () => {
      console.log("hello %s", "world");
      console.error("oops");
    });
    await f();
    expect(env.tracker.logs.map((l) => [l.level, l.message, l.echoed])).toEqual([
      [20, "hello world", true],
      [40, "oops", true],
    ]);
  });

  it("attributes prints to the right run when runs interleave", async () => {
    const t = task({ name: "chatty" }, async (label: string) => {
      for (let i = 0; i < 3; i++) {
        console.log(`${label} ${i}`);
        await sleep(Math.random() * 5);
      }
      return getRunContext().taskRun!.id;
    });
    const f = flow({ name: "chatty_flow", logPrints: true }, async (label: string) => {
      const ids = await t.map([`${label}-a`, `${label}-b`]);
      console.log(`${label} flow`);
      return { flowRunId: getRunContext().flowRun.id, ids };
    });
    const [x, y] = await Promise.all([f("x"), f("y")]);
    for (const [label, run] of [
      ["x", x],
      ["y", y],
    ] as const) {
      const mine = env.tracker.logs.filter((l) => l.flowRunId === run.flowRunId);
      expect(mine.map((l) => l.message).sort()).toEqual(
        [`${label} flow`, ...[0, 1, 2].flatMap((i) => [`${label}-a ${i}`, `${label}-b ${i}`])].sort(),
      );
      for (const [i, suffix] of ["a", "b"].entries()) {
        const ofTask = mine.filter((l) => l.taskRunId === run.ids[i]).map((l) => l.message);
        expect(ofTask).toEqual([0, 1, 2].map((n) => `${label}-${suffix} ${n}`));
      }
    }
  });

  it("does not capture prints of runs without logPrints, nor prints outside runs", async () => {
    const f = flow({ name: "quiet_flow" }, async () => console.log("not captured"));
    await f();
    console.log("outside");
    expect(env.tracker.logs).toEqual([]);
  });

  it("carries logPrints into sub-flows unless they opt out", async () => {
    const child = flow({ name: "child_prints" }, async () => console.log("child print"));
    const muted = flow({ name: "muted_child", logPrints: false }, async () => console.log("muted print"));
    await flow({ name: "parent_prints", logPrints: true }, async () => {
      await child();
      await muted();
    })();
    const childRun = env.tracker.flowRunsNamed("child_prints")[0]!;
    expect(env.tracker.logs.map((l) => [l.message, l.flowRunId])).toEqual([["child print", childRun.info.id]]);
  });

  it("captures a task's prints with logPrints on the task alone, in a fresh process (regression)", () => {
    // A fresh process, because the console is patched once per process: in this test file some
    // flow with logPrints has run already, which hid the bug.
    const output = runScript(`
      import { flow, task, MemoryTracker, setTracker } from ${JSON.stringify(sdkEntry)};
      const tracker = new MemoryTracker();
      setTracker(tracker);
      const chatty = task({ name: "chatty", logPrints: true }, () => console.log("task print"));
      await flow({ name: "plain_flow" }, () => chatty())();
      await chatty();
      process.stderr.write(JSON.stringify(tracker.logs.map((l) => [l.message, l.taskRunId !== undefined])));
    `);
    expect(JSON.parse(output)).toEqual([
      ["task print", true],
      ["task print", true],
    ]);
  });

  it("lets a task opt out inside a printing flow", async () => {
    const t = task({ name: "silent_task", logPrints: false }, async () => console.log("task print"));
    const f = flow({ name: "mixed", logPrints: true }, async () => {
      console.log("flow print");
      await t();
    });
    await f();
    expect(env.tracker.logs.map((l) => l.message)).toEqual(["flow print"]);
  });
});

describe("artifacts", () => {
  it("records markdown, table and link artifacts against the current run", async () => {
    const t = task({ name: "artifact_task" }, async () => {
      createTableArtifact(
        [
          { region: "eu", total: 3 },
          { total: 4, region: "us", extra: true },
        ],
        { key: "totals" },
      );
      return getRunContext().taskRun!.id;
    });
    const f = flow({ name: "artifact_flow" }, async () => {
      const mdId = createMarkdownArtifact("# Report", { description: "weekly" });
      createLinkArtifact("https://example.com/dash", { linkText: "dashboard" });
      return { mdId, taskRunId: await t(), flowRunId: getRunContext().flowRun.id };
    });
    const { mdId, taskRunId, flowRunId } = await f();
    expect(env.tracker.artifacts).toEqual([
      { id: mdId, flowRunId, type: "MARKDOWN", data: "# Report", description: "weekly" },
      {
        id: expect.any(String),
        flowRunId,
        type: "LINK",
        data: { url: "https://example.com/dash", linkText: "dashboard" },
      },
      {
        id: expect.any(String),
        flowRunId,
        taskRunId,
        key: "totals",
        type: "TABLE",
        data: {
          columns: ["region", "total", "extra"],
          rows: [
            ["eu", 3, null],
            ["us", 4, true],
          ],
        },
      },
    ]);
  });

  it("rejects keys the control plane would refuse", async () => {
    const f = flow({ name: "bad_artifact" }, async () => createMarkdownArtifact("x", { key: "Bad Key" }));
    await expect(f()).rejects.toThrow(/lowercase/);
  });

  it("creates an artifact outside a run, attached to no run, with a warning (regression: it was dropped)", () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    let id: string;
    try {
      id = createMarkdownArtifact("# from a script", { key: "script-report" });
    } finally {
      spy.mockRestore();
    }
    expect(env.tracker.artifacts).toEqual([{ id, type: "MARKDOWN", data: "# from a script", key: "script-report" }]);
    expect(written.join("")).toMatch(
      /WARNING .*markdown artifact script-report was created outside a flow or task run; it is attached to no run/,
    );
  });

  it("normalises array rows with optional column names", () => {
    expect(toTable([[1, 2], [3]])).toEqual({ columns: ["0", "1"], rows: [[1, 2], [3]] });
    expect(toTable([[1, 2]], ["a", "b"])).toEqual({ columns: ["a", "b"], rows: [[1, 2]] });
  });
});
