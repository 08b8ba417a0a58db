// Batched ingestion through `ingest.batch` on real PostgreSQL: a re-sent batch is stored once, rows
// naming another workspace's runs are dropped, and task-run states move the task run's current
// state, attempt count, start and end the way the timeline reads them.
import { beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@flowplane/core";
import { useTestApi, type Caller } from "../testing.ts";

const api = useTestApi();
let worker: Caller;
let flowRunId: string;

beforeAll(async () => {
  worker = api.a.as.WORKER;
  flowRunId = (await worker.flowRuns.create({ flowName: "ingest", state: { type: "RUNNING" } })).id;
});

const base = Date.parse("2030-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(base + ms).toISOString();
/** Ids in a known order (UUIDv7 made from increasing times), as the SDK makes them. */
let seq = 0;
const nextId = () => uuidv7(base + seq++);

function taskRun(id = nextId(), key = `t-${id}`) {
  return { id, flowRunId, name: key, taskKey: key, dynamicKey: "0", tags: ["x"], createdAt: at(0) };
}
function state(
  taskRunId: string,
  type: "PENDING" | "RUNNING" | "COMPLETED" | "FAILED" | "SCHEDULED",
  ms: number,
  name?: string,
) {
  const names = {
    PENDING: "Pending",
    RUNNING: "Running",
    COMPLETED: "Completed",
    FAILED: "Failed",
    SCHEDULED: "Scheduled",
  };
  return { id: nextId(), taskRunId, type, name: name ?? names[type], timestamp: at(ms) };
}

/** The columns a task run's states set: its state type, how often it ran, when it started and ended. */
function life(stateType: string, runCount: number, startMs: number, endMs: number | null) {
  return {
    stateType,
    runCount,
    startTime: new Date(at(startMs)),
    endTime: endMs === null ? null : new Date(at(endMs)),
  };
}

async function row(taskRunId: string) {
  return api.db.prisma.taskRun.findUniqueOrThrow({
    where: { id: taskRunId },
    select: { stateType: true, stateName: true, runCount: true, startTime: true, endTime: true, workspaceId: true },
  });
}

async function counts(workspaceId: string) {
  const [taskRuns, states, logs, artifacts] = await Promise.all([
    api.db.prisma.taskRun.count({ where: { workspaceId } }),
    api.db.prisma.state.count({ where: { workspaceId } }),
    api.db.prisma.log.count({ where: { workspaceId } }),
    api.db.prisma.artifact.count({ where: { workspaceId } }),
  ]);
  return { taskRuns, states, logs, artifacts };
}

describe("ingest.batch", () => {
  it("stores a re-sent batch once", async () => {
    const t = taskRun();
    const batch = {
      taskRuns: [t],
      taskRunStates: [state(t.id, "PENDING", 0), state(t.id, "RUNNING", 10), state(t.id, "COMPLETED", 20)],
      logs: [
        { id: nextId(), flowRunId, taskRunId: t.id, name: "task", level: 20, message: "hello", timestamp: at(15) },
      ],
      artifacts: [
        { id: nextId(), flowRunId, taskRunId: t.id, key: "report", type: "TABLE" as const, data: [{ a: 1 }] },
      ],
    };
    const first = await worker.ingest.batch(batch);
    expect(first).toEqual({ taskRuns: 1, taskRunStates: 3, logs: 1, artifacts: 1, rejected: [] });
    const stored = await counts(api.a.id);
    const afterFirst = await row(t.id);

    const again = await worker.ingest.batch(batch);
    expect(again).toEqual({ taskRuns: 0, taskRunStates: 0, logs: 0, artifacts: 0, rejected: [] });
    expect(await counts(api.a.id)).toEqual(stored);
    expect(await row(t.id)).toEqual(afterFirst);
    expect(afterFirst.runCount).toBe(1);
  });

  it("drops rows that name another workspace's runs: nothing is written in that workspace", async () => {
    const bRun = await api.b.as.WORKER.flowRuns.create({ flowName: "b-ingest", state: { type: "RUNNING" } });
    const aTask = taskRun();
    await worker.ingest.batch({ taskRuns: [aTask], taskRunStates: [state(aTask.id, "RUNNING", 5)] });
    const aBefore = await counts(api.a.id);
    const bBefore = await counts(api.b.id);
    const aTaskBefore = await row(aTask.id);

    const result = await api.b.as.WORKER.ingest.batch({
      taskRuns: [taskRun()],
      taskRunStates: [state(aTask.id, "FAILED", 50)],
      logs: [
        { id: nextId(), flowRunId, name: "x", level: 40, message: "into A", timestamp: at(1) },
        {
          id: nextId(),
          flowRunId: bRun.id,
          taskRunId: aTask.id,
          name: "x",
          level: 40,
          message: "B's run, A's task",
          timestamp: at(1),
        },
      ],
      artifacts: [
        { id: nextId(), flowRunId, type: "MARKDOWN", data: "into A" },
        { id: nextId(), flowRunId: bRun.id, taskRunId: aTask.id, type: "LINK", data: "B's run, A's task" },
      ],
    });
    expect(result).toEqual({ taskRuns: 0, taskRunStates: 0, logs: 0, artifacts: 0, rejected: [] });
    expect(await counts(api.a.id)).toEqual(aBefore);
    expect(await counts(api.b.id)).toEqual(bBefore);
    expect(await row(aTask.id)).toEqual(aTaskBefore);
  });

  it("drops a log that names an unknown task run instead of failing the whole batch", async () => {
    const result = await worker.ingest.batch({
      logs: [
        { id: nextId(), flowRunId, taskRunId: nextId(), name: "x", level: 20, message: "orphan", timestamp: at(1) },
        { id: nextId(), flowRunId, name: "x", level: 20, message: "kept", timestamp: at(1) },
      ],
    });
    expect(result.logs).toBe(1);
  });

  it("a task run's current state, attempts, start and end follow its states", async () => {
    const t = taskRun();
    await worker.ingest.batch({ taskRuns: [t], taskRunStates: [state(t.id, "PENDING", 0)] });
    expect(await row(t.id)).toMatchObject({ stateType: "PENDING", runCount: 0, startTime: null, endTime: null });

    await worker.ingest.batch({ taskRunStates: [state(t.id, "RUNNING", 100)] });
    expect(await row(t.id)).toMatchObject(life("RUNNING", 1, 100, null));

    // A retry inside the task: AwaitingRetry, then a second attempt.
    await worker.ingest.batch({
      taskRunStates: [state(t.id, "SCHEDULED", 200, "AwaitingRetry"), state(t.id, "RUNNING", 300, "Retrying")],
    });
    expect(await row(t.id)).toMatchObject({ ...life("RUNNING", 2, 100, null), stateName: "Retrying" });

    await worker.ingest.batch({ taskRunStates: [state(t.id, "COMPLETED", 400)] });
    expect(await row(t.id)).toMatchObject(life("COMPLETED", 2, 100, 400));

    const history = await api.a.as.READ.taskRuns.history({ id: t.id });
    expect(history.map((s) => s.name)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]);
  });

  it("a whole life in one batch ends in its last state", async () => {
    const t = taskRun();
    await worker.ingest.batch({
      taskRuns: [t],
      taskRunStates: [state(t.id, "PENDING", 0), state(t.id, "RUNNING", 1), state(t.id, "FAILED", 2)],
    });
    expect(await row(t.id)).toMatchObject(life("FAILED", 1, 1, 2));
  });

  it("a late batch carrying an older state does not overwrite a newer one", async () => {
    const t = taskRun();
    const running = state(t.id, "RUNNING", 10);
    const completed = state(t.id, "COMPLETED", 20);
    await worker.ingest.batch({ taskRuns: [t], taskRunStates: [completed] });
    await worker.ingest.batch({ taskRunStates: [running] });
    expect(await row(t.id)).toMatchObject(life("COMPLETED", 1, 10, 20));
  });

  it("states with the same millisecond are ordered by their (time-ordered) ids (regression: the run could stay RUNNING)", async () => {
    // A synchronous task goes RUNNING -> COMPLETED within one millisecond. Many task runs, with the
    // rows in either order in the batch, so an arbitrary pick among equal timestamps shows up.
    const tasks = Array.from({ length: 40 }, () => taskRun());
    const states = tasks.flatMap((t, i) => {
      const running = state(t.id, "RUNNING", 7);
      const completed = state(t.id, "COMPLETED", 7);
      return i % 2 ? [completed, running] : [running, completed];
    });
    await worker.ingest.batch({ taskRuns: tasks, taskRunStates: states });
    const rows = await api.db.prisma.taskRun.findMany({
      where: { id: { in: tasks.map((t) => t.id) } },
      select: { stateType: true },
    });
    expect(rows.map((r) => r.stateType)).toEqual(tasks.map(() => "COMPLETED"));
  });

  it("task runs and their states in one batch of 1000 are all stored", async () => {
    const tasks = Array.from({ length: 1000 }, (_, i) => taskRun(nextId(), `bulk-${i}`));
    const result = await worker.ingest.batch({
      taskRuns: tasks,
      taskRunStates: tasks.flatMap((t) => [state(t.id, "RUNNING", 1), state(t.id, "COMPLETED", 2)]),
    });
    expect(result).toEqual({ taskRuns: 1000, taskRunStates: 2000, logs: 0, artifacts: 0, rejected: [] });
    const list = await api.a.as.READ.taskRuns.list({ flowRunId });
    expect(list.filter((t) => t.taskKey.startsWith("bulk-") && t.stateType === "COMPLETED")).toHaveLength(1000);
  });

  it("stores which task runs fed a task run, and taskRuns.list returns those edges", async () => {
    const upstreamA = taskRun();
    const upstreamB = taskRun();
    const downstream = { ...taskRun(), inputTaskRunIds: [upstreamA.id, upstreamB.id] };
    await worker.ingest.batch({ taskRuns: [upstreamA, upstreamB, downstream] });
    const list = await api.a.as.READ.taskRuns.list({ flowRunId });
    const byId = new Map(list.map((t) => [t.id, t]));
    expect(byId.get(downstream.id)?.inputTaskRunIds).toEqual([upstreamA.id, upstreamB.id]);
    expect(byId.get(upstreamA.id)?.inputTaskRunIds).toEqual([]);
  });

  it("stores an artifact created outside any run, in the caller's workspace, findable by key", async () => {
    const id = nextId();
    const result = await worker.ingest.batch({
      artifacts: [{ id, key: "runless-report", type: "MARKDOWN", data: "# made in a script" }],
    });
    expect(result.artifacts).toBe(1);
    const [found] = await api.a.as.READ.artifacts.list({ key: "runless-report" });
    expect(found).toMatchObject({ id, flowRunId: null, taskRunId: null, data: "# made in a script" });
    expect(await api.b.as.READ.artifacts.list({ key: "runless-report" })).toEqual([]);
  });

  it("drops an artifact that names a task run but no flow run", async () => {
    const t = taskRun();
    await worker.ingest.batch({ taskRuns: [t] });
    const result = await worker.ingest.batch({
      artifacts: [{ id: nextId(), taskRunId: t.id, type: "MARKDOWN", data: "half-attached" }],
    });
    expect(result.artifacts).toBe(0);
  });
});

describe("long cache keys", () => {
  it("records a task run whose cache key is too long to store, with the key hashed (regression: the whole batch was refused)", async () => {
    const tr = taskRun();
    const longKey = "k".repeat(5_000);
    const others = [taskRun(), taskRun()];
    await worker.ingest.batch({
      taskRuns: [{ ...tr, cacheKey: longKey }, ...others],
      taskRunStates: [state(tr.id, "COMPLETED", 10, "Cached")],
    });
    const stored = await api.db.prisma.taskRun.findUniqueOrThrow({
      where: { id: tr.id },
      select: { cacheKey: true, stateType: true },
    });
    expect(stored.stateType).toBe("COMPLETED");
    expect(stored.cacheKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    for (const o of others) expect((await row(o.id)).workspaceId).toBe(api.a.id);
    // A flow-run state carrying a long cache key is judged like any other, not refused for it.
    const run = await worker.flowRuns.create({ flowName: "ingest", state: { type: "RUNNING" } });
    const answer = await worker.flowRuns.setState({
      id: run.id,
      state: { type: "COMPLETED", details: { cacheKey: longKey } },
    });
    expect(answer.decision).toBe("ACCEPT");
  });
});

describe("hostile records lose nothing", () => {
  const log = (message: string, extra: Record<string, unknown> = {}) => ({
    id: nextId(),
    flowRunId,
    name: "hostile",
    level: 20,
    message,
    timestamp: at(1),
    ...extra,
  });
  async function storedMessages(ids: string[]): Promise<string[]> {
    const { rows } = await api.db.pool.query<{ message: string }>(
      `SELECT message FROM "Log" WHERE id = ANY($1::uuid[]) ORDER BY id`,
      [ids],
    );
    return rows.map((r) => r.message);
  }

  it("a log message with NUL is stored (NUL shown as U+FFFD) with the rest of its batch (it used to lose the batch)", async () => {
    const logs = [log("before\u0000after"), log("plain")];
    const result = await worker.ingest.batch({ logs });
    expect(result).toMatchObject({ logs: 2, rejected: [] });
    expect(await storedMessages(logs.map((l) => l.id))).toEqual(["before\uFFFDafter", "plain"]);
  });

  it("lone UTF-16 surrogates in messages, names and state details are stored as U+FFFD (they used to be lost)", async () => {
    const t = taskRun(nextId(), "surrogate-\uD800-task");
    const s = { ...state(t.id, "FAILED", 30), message: "bad \uDC00 tail", details: { "k\uD800": ["\uDBFF", "ok 😀"] } };
    const logs = [log("lone \uD800 high", { name: "n\uDFFF" })];
    const result = await worker.ingest.batch({ taskRuns: [t], taskRunStates: [s], logs });
    expect(result).toEqual({ taskRuns: 1, taskRunStates: 1, logs: 1, artifacts: 0, rejected: [] });
    expect(await storedMessages(logs.map((l) => l.id))).toEqual(["lone \uFFFD high"]);
    const { rows } = await api.db.pool.query<{ message: string; details: unknown }>(
      `SELECT message, details FROM "State" WHERE id = $1`,
      [s.id],
    );
    expect(rows[0]).toEqual({ message: "bad \uFFFD tail", details: { "k\uFFFD": ["\uFFFD", "ok 😀"] } });
    expect((await row(t.id)).stateType).toBe("FAILED");
  });

  it("a 1 MB log message is stored truncated with a marker, and the 6 task runs of its batch are stored (0 of 6 were)", async () => {
    const tasks = Array.from({ length: 6 }, () => taskRun());
    const huge = log("x".repeat(1024 * 1024));
    const result = await worker.ingest.batch({
      taskRuns: tasks,
      taskRunStates: tasks.map((t) => state(t.id, "RUNNING", 5)),
      logs: [huge],
    });
    expect(result).toEqual({ taskRuns: 6, taskRunStates: 6, logs: 1, artifacts: 0, rejected: [] });
    const [stored] = await storedMessages([huge.id]);
    const limit = 64 * 1024;
    expect(stored).toBe(`${"x".repeat(limit)}… [truncated ${1024 * 1024 - limit} characters]`);
  });

  it("a malformed record is refused alone, named by its path and id; the others are stored", async () => {
    const good = log("good");
    const badLevel = log("bad level", { level: "loud" });
    const t = taskRun();
    const result = await worker.ingest.batch({
      taskRuns: [t, { ...taskRun(), createdAt: "yesterday" }],
      logs: [good, badLevel, "not a record"],
    });
    expect(result.taskRuns).toBe(1);
    expect(result.logs).toBe(1);
    expect(result.rejected.map((r) => [r.path, r.id])).toEqual([
      ["taskRuns.1.createdAt", expect.any(String)],
      ["logs.1.level", badLevel.id],
      ["logs.2", null],
    ]);
    expect(result.rejected[1]!.message).toMatch(/^logs\.1\.level: /);
    expect(await storedMessages([good.id, badLevel.id])).toEqual(["good"]);
  });
});
