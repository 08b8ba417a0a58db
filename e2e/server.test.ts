// `flowplane server start` as a user runs it: embedded PostgreSQL under FLOWPLANE_HOME, first-start
// bootstrap, a second start reusing data and key, graceful shutdown, and clear refusals.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exited, outputOf, runCli, spawnCli, waitFor } from "./harness.ts";

const homes: string[] = [];
async function freshHome(): Promise<string> {
  const home = await mkdtemp(path.join(os.tmpdir(), "flowplane-server-"));
  homes.push(home);
  return home;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

afterAll(async () => {
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

const baseEnv = { FLOWPLANE_API_URL: "", FLOWPLANE_API_KEY: "", DATABASE_URL: "", FLOWPLANE_LOG_LEVEL: "info" };

async function startAndWait(home: string, port: number) {
  const started = Date.now();
  const child = spawnCli(["server", "start", "--port", String(port)], { ...baseEnv, FLOWPLANE_HOME: home });
  await waitFor(
    "the server to be healthy",
    async () => {
      if (child.exitCode !== null) throw new Error(`server exited: ${outputOf(child)}`);
      const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => null);
      return res?.ok ? res : null;
    },
    60_000,
    50,
  );
  return { child, ms: Date.now() - started };
}

describe("flowplane server start", () => {
  it("runs on embedded PostgreSQL, bootstraps once, and a restart reuses the same data and key", async () => {
    const home = await freshHome();
    const port = await freePort();
    const first = await startAndWait(home, port);
    const profile = JSON.parse(await readFile(path.join(home, "profiles.json"), "utf8")) as {
      profiles: { local: { apiUrl: string; workspace: string; apiKeys: Record<string, string> } };
    };
    expect(profile.profiles.local.apiUrl).toBe(`http://127.0.0.1:${port}`);
    expect(profile.profiles.local.workspace).toBe("default");
    const key = profile.profiles.local.apiKeys["default"]!;
    expect(key).toMatch(/^fp_[0-9a-f]{12}_/);
    // The key is never printed, not even in the server's logs.
    expect(outputOf(first.child)).not.toContain(key);
    // The first start prints, once and outside the log, the link that creates the first owner.
    const ownerLink = await waitFor(
      "the first-owner link",
      async () =>
        /Create the first owner of this server \(the link works once, for 7 days\): (\S+)/.exec(
          outputOf(first.child),
        )?.[1],
    );
    expect(ownerLink).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/accept-invite#[\\w-]{40,}$`));
    const secret = ownerLink.split("#")[1]!;
    expect(outputOf(first.child).split(secret).length - 1).toBe(1);
    // The CLI on this machine works with no setup.
    const env = { ...baseEnv, FLOWPLANE_HOME: home };
    expect((await runCli(["work-pool", "create", "kept", "--type", "process"], env)).code).toBe(0);

    const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    expect(health).toEqual({ status: "ok", database: "ok" });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('flowplane_http_requests_total{route="workPools.create",status="200"} 1');
    expect(metrics).toContain("flowplane_http_request_duration_seconds_bucket");
    expect(metrics).toContain("flowplane_db_pool_connections");
    // pino JSON logs on stdout.
    const readyLine = outputOf(first.child)
      .split("\n")
      .find((l) => l.includes("Flowplane server ready") && l.startsWith("{"));
    expect(JSON.parse(readyLine!)).toMatchObject({ level: 30, msg: "Flowplane server ready", database: "embedded" });

    first.child.kill("SIGTERM");
    expect(await exited(first.child)).toBe(0);
    // Embedded PostgreSQL was stopped cleanly with the server.
    expect(existsSync(path.join(home, "postgres", "postmaster.pid"))).toBe(false);

    const second = await startAndWait(home, port);
    try {
      const again = JSON.parse(await readFile(path.join(home, "profiles.json"), "utf8")) as typeof profile;
      expect(outputOf(second.child)).not.toContain("Create the first owner");
      expect(again.profiles.local.apiKeys["default"]).toBe(key);
      const pools = JSON.parse((await runCli(["work-pool", "ls", "--json"], env)).stdout) as { name: string }[];
      expect(pools.map((p) => p.name)).toEqual(["kept"]);
      console.log(
        `cold first start ${first.ms} ms, warm restart ${second.ms} ms (process spawn to healthy, including the tsx loader)`,
      );
    } finally {
      second.child.kill("SIGINT");
      expect(await exited(second.child)).toBe(0);
    }
  }, 120_000);

  it("refuses an occupied port with one clear line, leaving no profile behind", async () => {
    const home = await freshHome();
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(["server", "start", "--port", String(port)], { ...baseEnv, FLOWPLANE_HOME: home });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toBe(`error: port ${port} on 127.0.0.1 is already in use; choose another with --port`);
      expect(existsSync(path.join(home, "profiles.json"))).toBe(false);
      expect(existsSync(path.join(home, "postgres"))).toBe(false);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it("refuses an unreachable DATABASE_URL, naming it without its password", async () => {
    const home = await freshHome();
    const r = await runCli(["server", "start", "--port", String(await freePort())], {
      ...baseEnv,
      FLOWPLANE_HOME: home,
      DATABASE_URL: "postgresql://flow:s3cret@127.0.0.1:1/flowplane",
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /^error: cannot reach the database at postgresql:\/\/flow:\*\*\*\*@127\.0\.0\.1:1\/flowplane: .*\(from DATABASE_URL\)\n$/,
    );
    expect(r.stderr).not.toContain("s3cret");
    expect(existsSync(path.join(home, "profiles.json"))).toBe(false);
  }, 60_000);

  it("refuses an unwritable FLOWPLANE_HOME", async () => {
    const parent = await freshHome();
    const file = path.join(parent, "a-file");
    await writeFile(file, "not a directory");
    const r = await runCli(["server", "start", "--port", String(await freePort())], {
      ...baseEnv,
      FLOWPLANE_HOME: path.join(file, "home"),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(`error: FLOWPLANE_HOME ${path.join(file, "home")} is not writable: ENOTDIR`);
  }, 60_000);

  it("refuses a bad --port value", async () => {
    const r = await runCli(["server", "start", "--port", "http"], { ...baseEnv, FLOWPLANE_HOME: await freshHome() });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('error: --port "http": expected a port number 0-65535');
  });
});
