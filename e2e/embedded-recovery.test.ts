// Embedded mode heals itself: a server killed with SIGKILL leaves its postmaster behind, and the
// next start must stop that one (and no other) and start cleanly; a server whose postmaster dies
// must stop with a non-zero exit rather than answer 503 for ever. Real `flowplane server start`
// processes on real embedded PostgreSQL.
import type { ChildProcess } from "node:child_process";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exited, outputOf, processAlive, spawnCli, waitFor } from "./harness.ts";
import { freePort } from "./support/server-process.ts";

const homes: string[] = [];
const children: ChildProcess[] = [];
const postmasters: number[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  for (const pid of postmasters) if (processAlive(pid)) process.kill(pid, "SIGQUIT");
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

const baseEnv = { FLOWPLANE_API_URL: "", FLOWPLANE_API_KEY: "", DATABASE_URL: "", FLOWPLANE_LOG_LEVEL: "info" };

async function freshHome(): Promise<string> {
  const home = await mkdtemp(path.join(os.tmpdir(), "flowplane-heal-"));
  homes.push(home);
  return home;
}

async function start(home: string, port: number): Promise<ChildProcess> {
  const child = spawnCli(["server", "start", "--port", String(port)], { ...baseEnv, FLOWPLANE_HOME: home });
  children.push(child);
  await waitFor(
    "the server to be healthy",
    async () => {
      if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${outputOf(child)}`);
      return (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok;
    },
    90_000,
  );
  return child;
}

async function postmasterPid(home: string): Promise<number> {
  const pid = Number((await readFile(path.join(home, "postgres", "postmaster.pid"), "utf8")).split("\n")[0]);
  postmasters.push(pid);
  return pid;
}

describe("embedded PostgreSQL recovery", () => {
  it("after kill -9 of the server, the next start stops its orphaned postmaster, and only that one (the start used to fail on the port)", async () => {
    const home = await freshHome();
    const port = await freePort();
    const first = await start(home, port);
    const orphan = await postmasterPid(home);
    first.kill("SIGKILL");
    await exited(first);
    expect(processAlive(orphan)).toBe(true);

    // Another server with its own home leaves this orphan alone.
    const otherHome = await freshHome();
    const other = await start(otherHome, await freePort());
    const otherPostmaster = await postmasterPid(otherHome);
    expect(processAlive(orphan)).toBe(true);

    const second = await start(home, port);
    expect(processAlive(orphan)).toBe(false);
    expect(outputOf(second)).toContain(`stopping the embedded PostgreSQL (pid ${orphan})`);
    expect(await postmasterPid(home)).not.toBe(orphan);
    // The running server's postmaster is not an orphan: a start against its home does not touch it.
    expect(processAlive(otherPostmaster)).toBe(true);

    for (const child of [second, other]) {
      child.kill("SIGINT");
      expect(await exited(child)).toBe(0);
    }
    expect(processAlive(otherPostmaster)).toBe(false);
  }, 240_000);

  it("when its embedded postmaster is killed, the server exits non-zero (it answered 503 for ever) and the next start recovers", async () => {
    const home = await freshHome();
    const port = await freePort();
    const server = await start(home, port);
    const postmaster = await postmasterPid(home);
    process.kill(postmaster, "SIGKILL");
    expect(await exited(server)).toBe(1);
    expect(outputOf(server)).toContain("the embedded PostgreSQL stopped unexpectedly");

    const again = await start(home, port);
    const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    expect(health).toEqual({ status: "ok", database: "ok" });
    again.kill("SIGTERM");
    expect(await exited(again)).toBe(0);
  }, 240_000);

  it("SIGINT stops the server with exit code 0 every time, and its database with it (it once exited 1)", async () => {
    const home = await freshHome();
    const port = await freePort();
    for (let i = 0; i < 3; i++) {
      const server = await start(home, port);
      const postmaster = await postmasterPid(home);
      server.kill("SIGINT");
      expect(await exited(server)).toBe(0);
      expect(processAlive(postmaster)).toBe(false);
      expect(outputOf(server)).toContain('"msg":"stopped"');
    }
  }, 240_000);
});
