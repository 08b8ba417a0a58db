// A real `flowplane server start` process on a fresh test database: for tests where the question is
// whether the process survives (a crash inside the test runner would hide which side died).
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { exited, outputOf, spawnCli, waitFor } from "../harness.ts";

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  adminKey: string;
  home: string;
  db: TestDatabase;
  /** Throws (with the server's output) unless the process is alive and /health answers 200. */
  assertHealthy(): Promise<void>;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const db = await createTestDatabase();
  const home = await mkdtemp(path.join(os.tmpdir(), "flowplane-proc-"));
  const port = await freePort();
  const child = spawnCli(["server", "start", "--port", String(port)], {
    FLOWPLANE_API_URL: "",
    FLOWPLANE_API_KEY: "",
    FLOWPLANE_HOME: home,
    DATABASE_URL: db.url,
    FLOWPLANE_LOG_LEVEL: "warn",
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  const assertHealthy = async () => {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`server exited (${child.exitCode ?? child.signalCode}): ${outputOf(child).slice(-4000)}`);
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`/health answered ${res.status}: ${await res.text()}`);
  };
  await waitFor(
    "the server process to be healthy",
    async () => {
      if (child.exitCode !== null) throw new Error(`server exited: ${outputOf(child)}`);
      const res = await fetch(`${url}/health`).catch(() => null);
      return res?.ok ?? false;
    },
    60_000,
  );
  const profile = JSON.parse(await readFile(path.join(home, "profiles.json"), "utf8")) as {
    profiles: { local: { apiKeys: Record<string, string> } };
  };
  return {
    child,
    url,
    port,
    adminKey: profile.profiles.local.apiKeys["default"]!,
    home,
    db,
    assertHealthy,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited(child);
      }
      await db.drop();
      await rm(home, { recursive: true, force: true });
    },
  };
}
