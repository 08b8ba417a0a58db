// The audit log through a real server and the CLI, as an admin uses it: what people and scripts did
// over HTTP (with the address and user agent the server saw), refusals included, filtered with
// `flowplane audit ls` and exported as JSON Lines with `flowplane audit export`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "@flowplane/client";
import { runCli, startTestServer, type TestServer } from "./harness.ts";

let server: TestServer;
let readKey: string;
const secretValue = "audit-e2e-secret-value";

beforeAll(async () => {
  server = await startTestServer();
  readKey = (await server.api.apiKeys.create.mutate({ name: "dashboards", scope: "READ" })).key;
  const set = await runCli(["secret", "set", "WAREHOUSE_PASSWORD"], server.env, { stdin: secretValue });
  expect(set.code, set.stderr).toBe(0);
  const refused = await runCli(["work-pool", "create", "p1", "--type", "process"], {
    ...server.env,
    FLOWPLANE_API_KEY: readKey,
  });
  expect(refused.code).not.toBe(0);
  // A made-up key on the admin key's prefix.
  const forged = createApiClient({
    apiUrl: server.url,
    apiKey: `${server.adminKey.slice(0, 16)}${"A".repeat(32)}`,
    workspace: "default",
  });
  await expect(forged.workPools.delete.mutate({ name: "p1" })).rejects.toThrow();
}, 120_000);
afterAll(async () => {
  await server?.close();
});

interface Event {
  occurredAt: string;
  actor: { type: string; name: string | null; apiKeyName: string | null; apiKeyPrefix: string | null };
  action: string;
  target: Record<string, unknown> | null;
  outcome: string;
  errorCode: string | null;
  ip: string | null;
  userAgent: string | null;
}

async function auditLs(...args: string[]): Promise<Event[]> {
  const r = await runCli(["audit", "ls", "--json", ...args], server.env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Event[];
}

describe("flowplane audit", () => {
  it("lists who did what over HTTP, with the address and user agent, newest first", async () => {
    const [set] = await auditLs("--action", "secrets.set");
    expect(set).toMatchObject({
      action: "secrets.set",
      target: { name: "WAREHOUSE_PASSWORD" },
      outcome: "ok",
      ip: expect.stringMatching(/127\.0\.0\.1/),
      userAgent: expect.any(String),
    });
    const all = await auditLs();
    const times = all.map((e) => e.occurredAt);
    expect(times).toEqual([...times].sort().reverse());
    expect(JSON.stringify(all)).not.toContain(secretValue);
  });

  it("shows refusals: a read key creating a pool (FORBIDDEN), a forged key (UNAUTHENTICATED, with its prefix)", async () => {
    const refused = await auditLs("--outcome", "refused");
    expect(refused).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: "workPools.create",
          errorCode: "FORBIDDEN",
          actor: expect.objectContaining({ apiKeyName: "dashboards" }),
        }),
        expect.objectContaining({
          action: "workPools.delete",
          errorCode: "UNAUTHENTICATED",
          actor: expect.objectContaining({ type: "anonymous", apiKeyPrefix: server.adminKey.slice(3, 15) }),
        }),
      ]),
    );
  });

  it("filters by actor and time, and names a bad flag", async () => {
    expect((await auditLs("--actor", "dashboards")).map((e) => e.action)).toEqual(["workPools.create"]);
    expect(await auditLs("--since", new Date(Date.now() + 3_600_000).toISOString())).toEqual([]);
    const bad = await runCli(["audit", "ls", "--since", "yesterday"], server.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since");
    const badOutcome = await runCli(["audit", "ls", "--outcome", "maybe"], server.env);
    expect(badOutcome.code).toBe(2);
    expect(badOutcome.stderr).toContain("--outcome");
  });

  it("exports JSON Lines, oldest first", async () => {
    const r = await runCli(["audit", "export", "--since", "2020-01-01"], server.env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    const events = lines.map((l) => JSON.parse(l) as Event);
    expect(events.length).toBeGreaterThanOrEqual(4);
    const times = events.map((e) => e.occurredAt);
    expect(times).toEqual([...times].sort());
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(["apiKeys.create", "secrets.set"]));
  });

  it("is refused to keys that are not admins", async () => {
    const r = await runCli(["audit", "ls"], { ...server.env, FLOWPLANE_API_KEY: readKey });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/admin/);
  });
});
