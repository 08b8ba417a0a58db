import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../../../e2e/harness.ts";
import { cancelHeardElsewhere, createPool, HEARD_ELSEWHERE } from "./fakes/scenarios.ts";
import { hostIdentity, INHERITED_ENV, ProcessInfrastructure } from "./process.ts";
import { JobElsewhereError, type JobSpec } from "./types.ts";

function job(command: unknown, lines: string[]): JobSpec {
  return {
    flowRunId: "00000000-0000-7000-8000-000000000001",
    flowRunName: "argv",
    configuration: { command, env: { SECRET_OF_THE_WORKER: "s3cret" } },
    env: {},
    defaultCommand: [process.execPath, "-e", "0"],
    labels: {},
    onOutput: (line) => lines.push(line),
  };
}

describe("process pool command", () => {
  it("runs a string command as an argv, with no shell expansion (regression: it went through /bin/sh -c)", async () => {
    const lines: string[] = [];
    const running = await new ProcessInfrastructure().submit(
      job(
        `${process.execPath} -e "console.log(process.argv.slice(1).join('|'))" '$SECRET_OF_THE_WORKER' "$(id)" ';' echo`,
        lines,
      ),
    );
    const exit = await running.exited;
    expect(exit.exitCode).toBe(0);
    expect(lines).toEqual(["$SECRET_OF_THE_WORKER|$(id)|;|echo"]);
  });

  it("names the command when it cannot be split", async () => {
    await expect(new ProcessInfrastructure().submit(job("node 'unterminated", []))).rejects.toThrow(
      /command: unterminated ' quote/,
    );
  });
});

describe("process pool environment", () => {
  it("gives a run only the allowlisted OS basics, the template's env and Flowplane's variables (regression: it inherited the worker's whole environment)", async () => {
    process.env.FLOWPLANE_TEST_WORKER_SECRET = "worker-only";
    try {
      const lines: string[] = [];
      const running = await new ProcessInfrastructure().submit({
        ...job([process.execPath, "-e", "console.log(JSON.stringify(process.env))"], lines),
        env: { FLOWPLANE_RUN_TOKEN: "fpr_x" },
      });
      expect((await running.exited).exitCode).toBe(0);
      const env = JSON.parse(lines.join("")) as Record<string, string>;
      expect(env.FLOWPLANE_TEST_WORKER_SECRET).toBeUndefined();
      expect(env.SECRET_OF_THE_WORKER).toBe("s3cret");
      expect(env.FLOWPLANE_RUN_TOKEN).toBe("fpr_x");
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.FLOWPLANE_HOME).toBe(process.env.FLOWPLANE_HOME);
      const unexpected = Object.keys(env).filter(
        (name) =>
          !INHERITED_ENV.includes(name) &&
          !/^LC_/.test(name) &&
          !["SECRET_OF_THE_WORKER", "FLOWPLANE_RUN_TOKEN", "FLOWPLANE_EXIT_WITH_PARENT"].includes(name),
      );
      expect(unexpected).toEqual([]);
    } finally {
      delete process.env.FLOWPLANE_TEST_WORKER_SECRET;
    }
  });
});

describe("process pool stop from a stored pid", () => {
  it("stops the process group of that run's runner only: a pid running another run, or nothing of Flowplane, is left alone", async () => {
    const runId = "00000000-0000-7000-8000-0000000000aa";
    const sleeper = [process.execPath, "-e", "setInterval(() => {}, 1000)"];
    const infra = new ProcessInfrastructure();
    const running = await infra.submit({ ...job(sleeper, []), env: { FLOWPLANE_FLOW_RUN_ID: runId } });
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const pid = Number(running.id.slice(running.id.lastIndexOf(":") + 1));
    // The pid names another run's runner (a pid reused, or one from another machine): untouched.
    await infra.stop(running.id, 100, "00000000-0000-7000-8000-0000000000bb");
    expect(alive(pid)).toBe(true);
    // Not a runner at all: untouched.
    await infra.stop(String(process.pid), 100, runId);
    await infra.stop(running.id, 100, runId);
    expect(await running.exited).toMatchObject({ reason: "killed by SIGTERM" });
    expect(alive(pid)).toBe(false);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleeper = [process.execPath, "-e", "setInterval(() => {}, 1000)"];

describe("process pool ids name their host", () => {
  it("an id is <host identity>:<pid>; stop() refuses a pid of another host and leaves it alone, and still reads a bare pid (stored before ids named their host)", async () => {
    const here = await hostIdentity();
    expect(here).toMatch(/^[0-9a-f-]{36}\.\d+$/);
    const runId = "00000000-0000-7000-8000-0000000000cc";
    const infra = new ProcessInfrastructure();
    const first = await infra.submit({ ...job(sleeper, []), env: { FLOWPLANE_FLOW_RUN_ID: runId } });
    expect(first.id).toMatch(new RegExp(`^${here.replace(".", "\\.")}:\\d+$`));
    const pid = Number(first.id.split(":")[1]);
    // The same pid as another host would store it: refused, untouched.
    const elsewhere = new ProcessInfrastructure({ hostIdentity: "another-host" });
    await expect(elsewhere.stop(first.id, 100, runId)).rejects.toThrow(JobElsewhereError);
    await expect(elsewhere.stop(first.id, 100, runId)).rejects.toThrow(
      `process ${pid} runs on host ${here}, not on this worker's host another-host`,
    );
    expect(alive(pid)).toBe(true);
    // The bare pid an older worker stored: stopped as before.
    await infra.stop(String(pid), 100, runId);
    expect(await first.exited).toMatchObject({ reason: "killed by SIGTERM" });
    await expect(infra.stop(`${here}:x1`, 100, runId)).rejects.toThrow(
      'infrastructure id "' + here + ':x1" is not a pid',
    );
  });
});

describe("process pool cancel heard on another host", () => {
  let server: TestServer;
  beforeAll(async () => {
    // A worker silent for one heartbeat interval goes OFFLINE (a restart under a new name).
    server = await startTestServer({ missedWorkerHeartbeats: 1, livenessIntervalMs: 200 });
    await createPool(server, "process-pool", "process", { long: { command: sleeper } });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  for (const { how, names } of HEARD_ELSEWHERE)
    it(`${how} on another host leaves the cancel: the process runs on and the run stays CANCELLING until a worker on its host stops it (regression: CANCELLED while the process ran on)`, async () => {
      await cancelHeardElsewhere(server, {
        poolName: "process-pool",
        deployment: "hello/long",
        names: names("proc"),
        here: () => new ProcessInfrastructure(),
        elsewhere: () => new ProcessInfrastructure({ hostIdentity: "another-host" }),
        running: async (id) => alive(Number(id.slice(id.lastIndexOf(":") + 1))),
        refusal: /^process \d+ runs on host \S+, not on this worker's host another-host$/,
      });
    });
});
