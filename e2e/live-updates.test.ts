// Live updates over the websocket: authenticated at the upgrade, scoped to the caller's
// workspace, and delivered by every replica (events travel through PostgreSQL LISTEN/NOTIFY).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { closeApiClient, createApiClient } from "@flowplane/client";
import { startServer, type RunningServer } from "@flowplane/server";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, waitFor, type TestServer } from "./harness.ts";

let server: TestServer;
let replica: RunningServer;
let replicaHome: string;

beforeAll(async () => {
  server = await startTestServer();
  replicaHome = await mkdtemp(path.join(os.tmpdir(), "flowplane-replica-"));
  replica = await startServer({
    databaseUrl: server.db.url,
    port: 0,
    home: replicaHome,
    logLevel: "silent",
    masterKey: server.masterKey,
  });
}, 60_000);

afterAll(async () => {
  await replica?.close();
  await server?.close();
  await rm(replicaHome, { recursive: true, force: true });
});

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("error", () => resolve(0));
  });
}

describe("live updates", () => {
  it("refuses the websocket upgrade without a valid credential", async () => {
    const base = server.url.replace("http", "ws");
    expect(await upgradeStatus(`${base}/trpc-ws`)).toBe(401);
    expect(await upgradeStatus(`${base}/trpc-ws?token=fp_000000000000_${"x".repeat(32)}`)).toBe(401);
    expect(await upgradeStatus(`${base}/trpc-ws?token=not.a.jwt`)).toBe(401);
    const { token } = await server.api.auth.createSession.mutate({ apiKey: server.adminKey });
    expect(await upgradeStatus(`${base}/trpc-ws?token=${encodeURIComponent(token)}`)).toBe(101);
  });

  it("delivers a change made on one replica to a subscriber on another, and only within the workspace", async () => {
    const run = await server.api.flowRuns.create.mutate({ flowName: "live", state: { type: "SCHEDULED" } });
    // A second workspace whose subscriber must see nothing of the first.
    const other = await server.api.workspaces.create.mutate({ name: "elsewhere" });

    const { token } = await server.api.auth.createSession.mutate({ apiKey: server.adminKey });
    const onReplica = createApiClient(
      { apiUrl: replica.url, apiKey: token, workspace: null },
      { withSubscriptions: true },
    );
    const stranger = createApiClient(
      { apiUrl: replica.url, apiKey: other.apiKey, workspace: null },
      { withSubscriptions: true },
    );
    const seen: { kind: string; flowRunId?: string; stateType?: string }[] = [];
    const leaked: unknown[] = [];
    const sub = onReplica.events.subscribe.subscribe(undefined, { onData: (e) => seen.push(e as never) });
    const strangerSub = stranger.events.subscribe.subscribe(undefined, { onData: (e) => leaked.push(e) });
    try {
      await new Promise((r) => setTimeout(r, 500)); // both subscriptions established
      await server.api.flowRuns.setState.mutate({ id: run.id, state: { type: "RUNNING" } });
      await server.api.flowRuns.setState.mutate({ id: run.id, state: { type: "COMPLETED" } });
      await waitFor(
        "both state changes on the other replica",
        async () => seen.filter((e) => e.kind === "flow_run" && e.flowRunId === run.id).length >= 2,
        10_000,
      );
      expect(seen.filter((e) => e.flowRunId === run.id).map((e) => e.stateType)).toEqual(["RUNNING", "COMPLETED"]);
      await new Promise((r) => setTimeout(r, 300));
      expect(leaked).toEqual([]);
    } finally {
      sub.unsubscribe();
      strangerSub.unsubscribe();
      closeApiClient(onReplica);
      closeApiClient(stranger);
    }
  }, 30_000);
});
