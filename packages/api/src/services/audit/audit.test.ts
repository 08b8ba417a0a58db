// The audit log (issue 18.5): every mutation through the API is appended with its actor, workspace,
// target and outcome - refusals included - and nothing but retention can change or remove an entry.
import { describe, expect, it } from "vitest";
import { appRouter } from "../../root.ts";
import { callError, useTestApi, type TestApi } from "../../testing.ts";
import { SUMMARISED_ACTIONS } from "./procedure-calls.ts";
import { pruneAuditEvents } from "./queries.ts";

// Entries are written when a test flushes (every `list` does), not by the recorder's one-second
// timer, whose ticks a loaded machine spaces unevenly: what a flush sums is then exact.
const api = useTestApi({ auditFlushIntervalMs: 3_600_000 });
const client = { ip: "203.0.113.7", userAgent: "audit-test/1.0" };

const list = (filter: Parameters<TestApi["a"]["as"]["ADMIN"]["audit"]["list"]>[0] = {}) =>
  api.a.as.ADMIN.audit.list(filter).then((r) => r.events);

describe("audit log", () => {
  it("records a mutation with its actor, workspace, target, outcome, IP and user agent", async () => {
    const caller = api.caller(api.a.keys.ADMIN, { client });
    const created = await caller.apiKeys.create({ name: "ci deploys", scope: "DEVELOPER" });
    const [event] = await list({ action: "apiKeys.create", actor: api.a.keyIds.ADMIN });
    expect(event).toMatchObject({
      workspaceId: api.a.id,
      actor: { type: "service-account", apiKeyId: api.a.keyIds.ADMIN, apiKeyName: "admin" },
      action: "apiKeys.create",
      target: { name: "ci deploys", scope: "DEVELOPER", id: created.apiKey.id },
      outcome: "ok",
      errorCode: null,
      count: 1,
      ip: client.ip,
      userAgent: client.userAgent,
    });
    // The key the call returned is nowhere in the entry.
    expect(JSON.stringify(event)).not.toContain(created.key);
  });

  it("never stores a secret's value, a variable's value or a presented key", async () => {
    const value = "s3cr3t-value-that-must-not-leak";
    await api.a.as.DEVELOPER.secrets.set({ name: "DB_PASSWORD", value });
    await api.a.as.DEVELOPER.variables.set({ name: "region", value: { region: "leaky-variable-value" } });
    await callError(api.caller(null).auth.createSession({ apiKey: `${api.a.keys.READ.slice(0, -4)}AAAA` }));
    await api.services.resources.audit.flush();
    const { rows } = await api.db.pool.query<{ row: string }>(`SELECT to_jsonb(e)::text AS row FROM "AuditEvent" e`);
    const everything = rows.map((r) => r.row).join("\n");
    expect(everything).toContain("DB_PASSWORD");
    expect(everything).not.toContain(value);
    expect(everything).not.toContain("leaky-variable-value");
    expect(everything).not.toContain(api.a.keys.READ.slice(16));
    const [setEvent] = await list({ action: "secrets.set" });
    expect(setEvent?.target).toEqual({ name: "DB_PASSWORD" });
  });

  it("records refusals: a scope too small (FORBIDDEN), a forged key (UNAUTHENTICATED, with its prefix), a failed sign-in", async () => {
    const forbidden = await callError(api.caller(api.a.keys.READ, { client }).secrets.set({ name: "X", value: "y" }));
    expect(forbidden.code).toBe("FORBIDDEN");
    // Right prefix, wrong secret: attributed to the key's workspace, so its admins see the attempt.
    const forged = `${api.a.keys.WORKER.slice(0, 16)}${"x".repeat(32)}`;
    expect((await callError(api.caller(forged, { client }).workPools.delete({ name: "p" }))).code).toBe("UNAUTHORIZED");
    const signIn = await callError(api.caller(null, { client }).auth.createSession({ apiKey: forged }));
    expect(signIn.code).toBe("UNAUTHORIZED");

    const [refused] = await list({ action: "secrets.set", outcome: "refused" });
    expect(refused).toMatchObject({
      actor: { type: "service-account", apiKeyId: api.a.keyIds.READ, apiKeyName: "read key" },
      errorCode: "FORBIDDEN",
      target: { name: "X" },
      ip: client.ip,
    });
    const [unauthenticated] = await list({ action: "workPools.delete" });
    expect(unauthenticated).toMatchObject({
      workspaceId: api.a.id,
      actor: {
        type: "anonymous",
        id: null,
        apiKeyId: api.a.keyIds.WORKER,
        apiKeyPrefix: forged.slice(3, 15),
        apiKeyName: "worker key",
      },
      outcome: "refused",
      errorCode: "UNAUTHENTICATED",
    });
    const [failedSignIn] = await list({ action: "auth.createSession", outcome: "refused" });
    expect(failedSignIn).toMatchObject({
      actor: { type: "anonymous", apiKeyPrefix: forged.slice(3, 15) },
      errorCode: "UNAUTHENTICATED",
      count: 1,
    });
    // B's admin sees none of it.
    const seenByB = await api.b.as.ADMIN.audit.list({});
    expect(seenByB.events.every((e) => e.workspaceId === api.b.id)).toBe(true);
  });

  it("records a key used in another workspace's name as FORBIDDEN in the key's own workspace", async () => {
    const err = await callError(api.caller(api.a.keys.ADMIN, { workspaceName: "ws-b" }).apiKeys.create({ name: "x" }));
    expect(err.code).toBe("FORBIDDEN");
    const [event] = await list({ action: "apiKeys.create", outcome: "refused" });
    expect(event).toMatchObject({
      workspaceId: api.a.id,
      errorCode: "FORBIDDEN",
      actor: { apiKeyId: api.a.keyIds.ADMIN },
    });
  });

  it("sums the worker runtime's successful calls into one entry per flush; their refusals stay one by one", async () => {
    await api.a.as.ADMIN.workPools.create({ name: "pool-x", type: "process" });
    await api.services.resources.audit.flush();
    const worker = api.a.as.WORKER;
    const heartbeats = async (n: number) => {
      for (let i = 0; i < n; i++) await worker.workers.heartbeat({ workPoolName: "pool-x", workerName: "w1" });
    };
    await heartbeats(25);
    for (let i = 0; i < 2; i++)
      await callError(worker.workers.heartbeat({ workPoolName: "no-such-pool", workerName: "w1" }));
    const ok = await list({ action: "workers.heartbeat", outcome: "ok" });
    expect(ok.map((e) => e.count)).toEqual([25]);
    // The next flush starts a new entry.
    await heartbeats(5);
    const both = await list({ action: "workers.heartbeat", outcome: "ok" });
    expect(both.map((e) => e.count)).toEqual([5, 25]);
    for (const e of both) expect(e).toMatchObject({ target: null, actor: { apiKeyId: api.a.keyIds.WORKER } });
    const refused = await list({ action: "workers.heartbeat", outcome: "refused" });
    expect(refused.map((e) => [e.count, e.errorCode, e.target])).toEqual([
      [1, "NOT_FOUND", { workPoolName: "no-such-pool", workerName: "w1" }],
      [1, "NOT_FOUND", { workPoolName: "no-such-pool", workerName: "w1" }],
    ]);
  });

  it("summarises only procedures that exist (a rename cannot silently change what is summarised)", () => {
    const paths = new Set(Object.keys(appRouter._def.procedures));
    expect([...SUMMARISED_ACTIONS].filter((p) => !paths.has(p))).toEqual([]);
  });

  it("filters by actor (name, id or key prefix), action (exact or prefix) and time, newest first, in pages", async () => {
    const since = new Date();
    for (const name of ["page-1", "page-2", "page-3"]) await api.a.as.ADMIN.apiKeys.create({ name, scope: "READ" });
    const byName = await list({ actor: "admin", since: since.toISOString() });
    expect(byName[0]?.actor.type).toBe("service-account");
    expect(await list({ actor: byName[0]!.actor.name!, since: since.toISOString() })).toHaveLength(3);
    expect(byName.map((e) => e.target)).toEqual([
      expect.objectContaining({ name: "page-3" }),
      expect.objectContaining({ name: "page-2" }),
      expect.objectContaining({ name: "page-1" }),
    ]);
    const prefix = api.a.keys.ADMIN.slice(3, 15);
    expect(await list({ actor: prefix, since: since.toISOString() })).toHaveLength(3);
    expect(await list({ action: "apiKeys.", since: since.toISOString() })).toHaveLength(3);
    expect(await list({ action: "apiKeys.*", since: since.toISOString() })).toHaveLength(3);
    expect(await list({ action: "secrets.", since: since.toISOString() })).toHaveLength(0);
    expect(await list({ since: new Date(Date.now() + 60_000).toISOString() })).toHaveLength(0);

    const first = await api.a.as.ADMIN.audit.list({ since: since.toISOString(), limit: 2 });
    expect(first.events).toHaveLength(2);
    const second = await api.a.as.ADMIN.audit.list({ since: since.toISOString(), limit: 2, cursor: first.nextCursor! });
    expect(second.events.map((e) => (e.target as { name: string }).name)).toEqual(["page-1"]);
    expect(second.nextCursor).toBeNull();

    const exported = await api.a.as.ADMIN.audit.export({ since: since.toISOString(), action: "apiKeys.create" });
    expect(exported.events.map((e) => (e.target as { name: string }).name)).toEqual(["page-1", "page-2", "page-3"]);
  });

  it("only admins read the audit log", async () => {
    expect((await callError(api.a.as.DEVELOPER.audit.list({}))).code).toBe("FORBIDDEN");
    expect((await callError(api.a.as.READ.audit.export({}))).code).toBe("FORBIDDEN");
  });

  it("refuses UPDATE, DELETE and TRUNCATE in the database; only the retention function deletes, and only old entries", async () => {
    await api.services.resources.audit.flush();
    const pool = api.db.pool;
    await expect(pool.query(`UPDATE "AuditEvent" SET outcome = 'ok'`)).rejects.toThrow(/append-only: UPDATE/);
    await expect(pool.query(`DELETE FROM "AuditEvent"`)).rejects.toThrow(/append-only: DELETE/);
    await expect(pool.query(`TRUNCATE "AuditEvent"`)).rejects.toThrow(/append-only: TRUNCATE/);
    await expect(api.db.prisma.auditEvent.deleteMany({})).rejects.toThrow(/append-only/);
    // The retention flag does not leak to the connection's next use.
    await pruneAuditEvents(api.services.resources, 365);
    const { rows: flag } = await pool.query<{ v: string | null }>(
      `SELECT current_setting('flowplane.audit_retention', true) AS v`,
    );
    expect(flag[0]?.v ?? "").not.toBe("on");

    const { rows: before } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "AuditEvent"`);
    expect(before[0]!.n).toBeGreaterThan(5);
    expect(await pruneAuditEvents(api.services.resources, 30)).toBe(0);
    // Thirty-one days later, everything recorded so far is past a 30-day retention.
    const later = new Date(Date.now() + 31 * 86_400_000);
    expect(await pruneAuditEvents(api.services.resources, 30, later)).toBe(before[0]!.n);
    const { rows: after } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "AuditEvent"`);
    expect(after[0]!.n).toBe(0);
  });
});
