// A run's hostile output loses nothing, holds nothing back, and cannot take over the terminal of
// whoever reads its logs: real server, real worker process, real run process, real CLI.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployToNewPool, exited, runCli, spawnCli, startTestServer, waitFor, type TestServer } from "./harness.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await deployToNewPool(server, "hostile", "process", [["e2e/fixtures/hostile-output.ts:hostileOutput", "d"]]);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe("hostile output of a run", () => {
  it("NUL, invalid UTF-8, a 100,000-character stdout line and a 1 MB log message are all kept, and later output still arrives (it was blocked or dropped)", async () => {
    const run = await server.api.deployments.run.mutate({ name: "hostile_output/d" });
    const worker = spawnCli(["worker", "start", "--pool", "hostile", "--run-once"], server.env);
    expect(await exited(worker)).toBe(0);
    const logs = await waitFor("the run's last log line", async () => {
      const lines = await server.api.logs.list.query({ flowRunId: run.id, limit: 1000 });
      return lines.some((l) => l.message === "after the megabyte") &&
        lines.some((l) => l.message.includes("after the hostile"))
        ? lines
        : null;
    });
    expect((await server.api.flowRuns.get.query({ id: run.id })).state.type).toBe("COMPLETED");
    const messages = logs.map((l) => l.message);
    expect(messages).toContain("nul\uFFFDinside");
    expect(messages).toContain("f\uFFFD\uFFFD");
    expect(messages).toContain(`${"x".repeat(65_536)}… [truncated ${100_000 - 65_536} characters]`);
    expect(messages).toContain("after the hostile lines");
    expect(messages).toContain(
      `one megabyte: ${"y".repeat(65_536 - 14)}… [truncated ${1024 * 1024 + 14 - 65_536} characters]`,
    );
    expect(messages).toContain("lone \uFFFD surrogate");
    const taskRuns = await server.api.taskRuns.list.query({ flowRunId: run.id });
    expect(taskRuns.filter((t) => t.stateType === "COMPLETED")).toHaveLength(6);

    // Read back through the CLI: control characters are printed visibly, one record per line.
    const printed = await runCli(["flow-run", "logs", run.id], server.env);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(printed.stdout).toContain("\\x1b]52;c;ZXZpbA==\\x07 clipboard");
    expect(printed.stdout).toContain("\\x1b[2J\\x1b[H cleared");
    expect(printed.stdout).toContain("fake\\r2030-01-01T00:00:00.000Z INFO     forged | line");
    for (const line of printed.stdout.trimEnd().split("\n")) expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z /);
    expect(printed.stdout.trimEnd().split("\n")).toHaveLength(logs.length);
  }, 120_000);
});
