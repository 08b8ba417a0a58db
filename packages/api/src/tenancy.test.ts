// Tenancy, generated from the router: every procedure is called with workspace B's admin key on
// workspace A's ids and names. A procedure without an entry in CASES fails the test, so a new
// procedure cannot ship without saying how it keeps tenants apart.
import { beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@flowplane/core";
import type { TRPCError } from "@trpc/server";
import { appRouter } from "./root.ts";
import type { FlowplaneEvent } from "./services/events.ts";
import {
  useTestApi,
  PUBLIC_PROCEDURES,
  seedWorkspace,
  type Caller,
  type SeededWorkspace,
  type TestApi,
} from "./testing.ts";

type Code = TRPCError["code"];

interface Case {
  /** Input built from A's objects (and B's, where a call needs one of its own to get that far). */
  input?: (a: SeededWorkspace, b: SeededWorkspace) => unknown;
  /**
   * `deny`: the call fails with one of these codes (default NOT_FOUND or FORBIDDEN).
   * `own`: the call succeeds and its answer names nothing of A's (lists, creates in B).
   */
  expect: { deny?: Code[] } | "own";
  /** Extra assertions on a successful answer. */
  check?: (output: unknown) => void;
}

const DENY = { deny: ["NOT_FOUND", "FORBIDDEN"] as Code[] };

/** A's people and service account (made in beforeAll): B's admin must not reach them by email or name. */
const A_MEMBER = "a-member@example.com";
const A_ACCOUNT = "a-robot";
let aInvitationId = "";
/** Calls that need the browser's cookie jar (an HTTP request): without one they refuse before anything. */
const NEEDS_COOKIES = { deny: ["PRECONDITION_FAILED"] as Code[] };
const FORGED_TOKEN = "f".repeat(43);
const noneOfA = (o: unknown) => {
  const text = JSON.stringify(o);
  for (const name of [`${A_ACCOUNT}-only`, "a-invitee@example.com"]) expect(text).not.toContain(name);
  expect(
    (o as { email?: string; status?: string }[]).filter((m) => m.email === A_MEMBER && m.status === "active"),
  ).toEqual([]);
};

const CASES: Record<string, Case[] | "subscription"> = {
  "auth.createSession": [
    // Public: the only credential it accepts is the key itself. A's key id or a forged key on A's prefix is not one.
    { input: (a) => ({ apiKey: a.apiKeyId }), expect: { deny: ["UNAUTHORIZED"] } },
  ],
  "auth.signIn": [{ input: () => ({ email: A_MEMBER, password: "not the password" }), expect: NEEDS_COOKIES }],
  "auth.accessToken": [{ input: (a) => ({ workspace: a.workspaceName }), expect: NEEDS_COOKIES }],
  "auth.signOut": [{ expect: NEEDS_COOKIES }],
  "auth.signOutEverywhere": [{ expect: NEEDS_COOKIES }],
  "auth.requestPasswordReset": [{ input: () => ({ email: A_MEMBER }), expect: "own" }],
  "auth.resetPassword": [{ input: () => ({ token: FORGED_TOKEN, password: "some new passphrase" }), expect: DENY }],
  "auth.invitation": [{ input: () => ({ token: FORGED_TOKEN }), expect: DENY }],
  "auth.acceptInvitation": [{ input: () => ({ token: FORGED_TOKEN, password: "x" }), expect: NEEDS_COOKIES }],
  "auth.deviceStart": [{ input: () => ({ clientName: "b-cli" }), expect: "own" }],
  "auth.devicePoll": [{ input: () => ({ deviceCode: FORGED_TOKEN }), expect: "own" }],
  // Only a person signed in to the dashboard confirms a device; B's admin key is a service account.
  "auth.deviceDecide": [{ input: () => ({ userCode: "AAAA-AAAA", approve: true }), expect: DENY }],
  "members.list": [{ expect: "own", check: noneOfA }],
  // Invites A's member into B: B's to make, and nothing of A's changes.
  "members.invite": [{ input: () => ({ email: A_MEMBER, role: "viewer" }), expect: "own" }],
  "members.revokeInvitation": [{ input: () => ({ id: aInvitationId }), expect: DENY }],
  "members.setRole": [{ input: () => ({ email: A_MEMBER, role: "viewer" }), expect: DENY }],
  "members.remove": [{ input: () => ({ email: A_MEMBER }), expect: DENY }],
  // Emails are one global namespace (a person is one user in every organisation).
  "members.createUser": [
    {
      input: () => ({ email: A_MEMBER, role: "viewer", password: "b's new passphrase" }),
      expect: { deny: ["CONFLICT"] },
    },
  ],
  "members.resetLink": [{ input: () => ({ email: A_MEMBER }), expect: DENY }],
  "serviceAccounts.list": [{ expect: "own", check: noneOfA }],
  "serviceAccounts.create": [{ input: () => ({ name: A_ACCOUNT, role: "VIEWER" }), expect: "own" }],
  "serviceAccounts.setRole": [{ input: () => ({ name: `${A_ACCOUNT}-only`, role: "ADMIN" }), expect: DENY }],
  "serviceAccounts.delete": [{ input: () => ({ name: `${A_ACCOUNT}-only` }), expect: DENY }],
  "serviceAccounts.createKey": [
    { input: () => ({ serviceAccount: `${A_ACCOUNT}-only`, name: "stolen", scope: "ADMIN" }), expect: DENY },
  ],
  "auth.whoami": [{ expect: "own", check: (o) => expect(o).toMatchObject({ workspace: { name: "ws-b" } }) }],
  // Run tokens only (a key is refused): a run token's workspace is signed into it (run-tokens.test.ts).
  "auth.renewRunToken": [{ expect: { deny: ["FORBIDDEN"] } }],
  "workspaces.current": [{ expect: "own", check: (o) => expect(o).toMatchObject({ name: "ws-b" }) }],
  // Workspace names are one global namespace, so an existing name answers CONFLICT whoever asks.
  "workspaces.create": [{ input: (a) => ({ name: a.workspaceName }), expect: { deny: ["CONFLICT"] } }],
  "apiKeys.create": [{ input: () => ({ name: "b-extra", scope: "READ" }), expect: "own" }],
  "apiKeys.list": [{ expect: "own" }],
  "apiKeys.revoke": [{ input: (a) => ({ id: a.apiKeyId }), expect: DENY }],
  "flows.list": [{ expect: "own" }],
  "flows.get": [{ input: (a) => ({ id: a.flowId }), expect: DENY }],
  "flowRuns.create": [{ input: (a) => ({ flowName: "b-adhoc", parentTaskRunId: a.taskRunIds[0] }), expect: DENY }],
  "flowRuns.get": [
    { input: (a) => ({ id: a.flowRunId }), expect: DENY },
    { input: (a) => ({ id: a.subflowRunId }), expect: DENY },
  ],
  "flowRuns.list": [
    { input: () => ({}), expect: "own" },
    {
      input: (a) => ({
        flowId: a.flowId,
        deploymentId: a.deploymentId,
        parentFlowRunId: a.flowRunId,
        cursor: a.scheduledRunId,
      }),
      expect: "own",
      check: (o) => expect((o as { items: unknown[] }).items).toEqual([]),
    },
    {
      input: (a) => ({ flowName: a.flowName, workPoolName: a.poolName }),
      expect: "own",
      check: (o) => expect((o as { items: unknown[] }).items).toEqual([]),
    },
  ],
  "flowRuns.setState": [{ input: (a) => ({ id: a.flowRunId, state: { type: "COMPLETED" } }), expect: DENY }],
  "flowRuns.setStates": [
    {
      input: (a) => ({
        proposals: [
          { id: a.flowRunId, state: { type: "COMPLETED" } },
          { id: a.scheduledRunId, state: { type: "CANCELLED" } },
        ],
      }),
      expect: "own",
      check: (o) =>
        expect((o as { error?: { code: string } }[]).map((r) => r.error?.code)).toEqual(["NOT_FOUND", "NOT_FOUND"]),
    },
  ],
  "flowRuns.forceState": [{ input: (a) => ({ id: a.flowRunId, state: { type: "CRASHED" } }), expect: DENY }],
  "flowRuns.setRetryPolicy": [{ input: (a) => ({ id: a.flowRunId, retryPolicy: { retries: 9 } }), expect: DENY }],
  "flowRuns.cancel": [
    { input: (a) => ({ id: a.flowRunId }), expect: DENY },
    { input: (a) => ({ id: a.scheduledRunId }), expect: DENY },
  ],
  "flowRuns.retry": [{ input: (a) => ({ id: a.flowRunId }), expect: DENY }],
  "flowRuns.heartbeat": [{ input: (a) => ({ id: a.flowRunId }), expect: DENY }],
  "flowRuns.history": [{ input: (a) => ({ id: a.flowRunId }), expect: DENY }],
  "flowRuns.counts": [
    {
      input: () => ({
        from: new Date(Date.now() - 86_400_000).toISOString(),
        to: new Date(Date.now() + 86_400_000).toISOString(),
      }),
      expect: "own",
    },
    // A's flow and deployment as filters, over a window long enough to read the hourly rollup.
    {
      input: (a) => ({
        from: new Date(Date.now() - 7 * 86_400_000).toISOString(),
        to: new Date(Date.now() + 86_400_000).toISOString(),
        flowId: a.flowId,
        deploymentId: a.deploymentId,
      }),
      expect: "own",
      check: (o) => expect((o as { rows: unknown[] }).rows).toEqual([]),
    },
    {
      input: (a) => ({
        from: new Date(Date.now() - 7 * 86_400_000).toISOString(),
        to: new Date(Date.now() + 86_400_000).toISOString(),
        flowName: a.flowName,
      }),
      expect: "own",
      check: (o) => expect((o as { rows: unknown[] }).rows).toEqual([]),
    },
  ],
  "taskRuns.list": [{ input: (a) => ({ flowRunId: a.flowRunId }), expect: DENY }],
  "taskRuns.history": [{ input: (a) => ({ id: a.taskRunIds[0] }), expect: DENY }],
  "taskRuns.setState": [{ input: (a) => ({ id: a.taskRunIds[0], state: { type: "FAILED" } }), expect: DENY }],
  "ingest.batch": [
    {
      // Rows naming A's runs, or B's run with A's task run, are dropped: nothing is stored anywhere.
      input: (a, b) => {
        const ts = new Date().toISOString();
        return {
          taskRuns: [
            {
              id: uuidv7(),
              flowRunId: a.flowRunId,
              name: "intruder",
              taskKey: "intruder",
              dynamicKey: "0",
              tags: [],
              createdAt: ts,
            },
          ],
          taskRunStates: [{ id: uuidv7(), taskRunId: a.taskRunIds[0], type: "FAILED", name: "Failed", timestamp: ts }],
          logs: [
            { id: uuidv7(), flowRunId: a.flowRunId, name: "x", level: 40, message: "into A's run", timestamp: ts },
            {
              id: uuidv7(),
              flowRunId: b.flowRunId,
              taskRunId: a.taskRunIds[0],
              name: "x",
              level: 40,
              message: "pointing at A's task run",
              timestamp: ts,
            },
          ],
          artifacts: [
            { id: uuidv7(), flowRunId: a.flowRunId, type: "MARKDOWN", data: "into A's run" },
            {
              id: uuidv7(),
              flowRunId: b.flowRunId,
              taskRunId: a.taskRunIds[0],
              type: "MARKDOWN",
              data: "pointing at A's task run",
            },
          ],
        };
      },
      expect: "own",
      check: (o) => expect(o).toEqual({ taskRuns: 0, taskRunStates: 0, logs: 0, artifacts: 0, rejected: [] }),
    },
  ],
  "logs.list": [{ input: (a) => ({ flowRunId: a.flowRunId }), expect: DENY }],
  "artifacts.list": [
    { input: (a) => ({ flowRunId: a.flowRunId }), expect: "own", check: (o) => expect(o).toEqual([]) },
    { input: (a) => ({ key: a.artifactKey }), expect: "own", check: (o) => expect(o).toEqual([]) },
    { input: () => ({}), expect: "own" },
  ],
  "deployments.upsert": [
    // services/deployments.ts answers an unknown pool with INVALID_INPUT naming the field.
    {
      input: (a) => ({ flowName: "b-flow", name: "b-other", entrypoint: "x.ts:f", workPoolName: a.poolName }),
      expect: { deny: ["NOT_FOUND", "FORBIDDEN", "BAD_REQUEST"] },
    },
  ],
  "deployments.list": [
    { input: () => undefined, expect: "own" },
    { input: (a) => ({ flowName: a.flowName }), expect: "own", check: (o) => expect(o).toEqual([]) },
  ],
  "deployments.get": [
    { input: (a) => ({ id: a.deploymentId }), expect: DENY },
    { input: (a) => ({ name: a.deploymentName }), expect: DENY },
  ],
  "deployments.run": [
    { input: (a) => ({ id: a.deploymentId }), expect: DENY },
    { input: (a) => ({ name: a.deploymentName }), expect: DENY },
  ],
  "deployments.backfill": [
    {
      input: (a) => ({
        id: a.deploymentId,
        from: new Date(Date.now() - 86_400_000).toISOString(),
        to: new Date().toISOString(),
      }),
      expect: DENY,
    },
    {
      input: (a) => ({
        name: a.deploymentName,
        from: new Date(Date.now() - 86_400_000).toISOString(),
        to: new Date().toISOString(),
      }),
      expect: DENY,
    },
  ],
  "deployments.setPaused": [{ input: (a) => ({ id: a.deploymentId, paused: true }), expect: DENY }],
  "deployments.delete": [
    { input: (a) => ({ id: a.deploymentId }), expect: DENY },
    { input: (a) => ({ name: a.deploymentName }), expect: DENY },
  ],
  "workPools.create": [{ input: () => ({ name: "b-made-pool", type: "docker" }), expect: "own" }],
  "workPools.list": [{ expect: "own" }],
  "workPools.get": [{ input: (a) => ({ name: a.poolName }), expect: DENY }],
  "workPools.update": [{ input: (a) => ({ name: a.poolName, paused: true }), expect: DENY }],
  "workPools.delete": [{ input: (a) => ({ name: a.poolName }), expect: DENY }],
  "workQueues.create": [{ input: (a) => ({ workPoolName: a.poolName, name: "sneaky" }), expect: DENY }],
  "workQueues.list": [{ input: (a) => ({ workPoolName: a.poolName }), expect: DENY }],
  "workQueues.update": [
    { input: (a) => ({ workPoolName: a.poolName, name: a.queueName, paused: true }), expect: DENY },
  ],
  "workQueues.delete": [{ input: (a) => ({ workPoolName: a.poolName, name: a.queueName }), expect: DENY }],
  "workers.heartbeat": [{ input: (a) => ({ workPoolName: a.poolName, workerName: a.workerName }), expect: DENY }],
  "workers.poll": [{ input: (a) => ({ workerId: a.workerId, waitMs: 0 }), expect: DENY }],
  "workers.reportInfrastructure": [
    { input: (a) => ({ flowRunId: a.flowRunId, infrastructureId: "pid:1" }), expect: DENY },
  ],
  "workers.extendClaim": [{ input: (a) => ({ flowRunId: a.flowRunId }), expect: DENY }],
  "workers.infrastructureLocations": [{ input: (a) => ({ workerId: a.workerId }), expect: DENY }],
  "workers.list": [
    { input: () => ({}), expect: "own" },
    { input: (a) => ({ workPoolName: a.poolName }), expect: "own", check: (o) => expect(o).toEqual([]) },
  ],
  "secrets.set": [{ input: () => ({ name: "B_MADE", value: "b-value" }), expect: "own" }],
  "secrets.list": [{ expect: "own", check: (o) => expect(JSON.stringify(o)).not.toContain("A_SECRET") }],
  "secrets.reads": [{ input: () => ({ name: "A_SECRET" }), expect: DENY }],
  "secrets.delete": [{ input: () => ({ name: "A_SECRET" }), expect: DENY }],
  "secrets.setAllowDeploy": [{ input: () => ({ name: "A_SECRET", allowDeploy: true }), expect: DENY }],
  "secrets.resolveForDeploy": [
    {
      input: () => ({
        deploymentNames: ["a/deployment"],
        steps: [{ phase: "push", index: 0, step: "docker_push", id: null, names: ["A_SECRET"] }],
      }),
      expect: DENY,
    },
  ],
  // Values go to worker keys only; B's worker key is refused on A's run in "secret values" below.
  "secrets.resolveForRun": [{ input: (a) => ({ flowRunId: a.flowRunId, names: ["A_SECRET"] }), expect: DENY }],
  // The master key is the server's: re-wrapping touches every workspace's data keys but reveals and changes no value.
  "secrets.rotateMasterKey": [{ expect: "own" }],
  "variables.set": [{ input: () => ({ name: "b_made", value: 1 }), expect: "own" }],
  "variables.get": [{ input: () => ({ name: "a_var" }), expect: DENY }],
  "variables.getMany": [
    {
      input: () => ({ names: ["a_var"] }),
      expect: "own",
      check: (o) => expect(o).toEqual({ values: {}, missing: ["a_var"] }),
    },
  ],
  "variables.list": [{ expect: "own", check: (o) => expect(JSON.stringify(o)).not.toContain("a_var") }],
  "variables.delete": [{ input: () => ({ name: "a_var" }), expect: DENY }],
  // B's audit log holds B's calls only (those made above with A's ids included: B sent them).
  "audit.list": [
    {
      input: () => ({ action: "apiKeys.create" }),
      expect: "own",
      check: (o) => expect((o as { events: { workspaceId: string }[] }).events.length).toBeGreaterThan(0),
    },
  ],
  "audit.export": [{ input: () => ({ action: "apiKeys.create" }), expect: "own" }],
  // SSO settings are the caller's organisation's; A's workspace cannot be named as B's SSO workspace.
  "sso.get": [{ expect: "own", check: (o) => expect(o).toBeNull() }],
  "sso.configure": [
    {
      input: (a) => ({
        issuer: "http://127.0.0.1:9",
        clientId: "b",
        clientSecret: "b-secret",
        allowedDomains: ["b.test"],
        workspaceName: a.workspaceName,
      }),
      expect: { deny: ["BAD_REQUEST"] },
    },
  ],
  "sso.remove": [{ expect: "own", check: (o) => expect(o).toEqual({ removed: false }) }],
  // Covered by "a subscription in B never receives A's events" below.
  "events.subscribe": "subscription",
};

type Procedure = (input?: unknown) => Promise<unknown>;

function procedure(caller: Caller, path: string): Procedure {
  const [ns, name] = path.split(".") as [string, string];
  const fn = (caller as unknown as Record<string, Record<string, Procedure | undefined>>)[ns]?.[name];
  if (!fn) throw new Error(`no procedure ${path} on the caller`);
  return fn;
}

const procedures = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { type: "query" | "mutation" | "subscription" } }>,
).map(([path, p]) => ({ path, type: p._def.type }));

/** Every id stored in a workspace, from every table that carries workspaceId. */
async function idsOf(api: TestApi, workspaceId: string): Promise<Set<string>> {
  const ids = new Set<string>([workspaceId]);
  for (const table of await tenantTables(api)) {
    const { rows } = await api.db.pool.query<{ id: string }>(
      `SELECT id::text AS id FROM "${table}" WHERE "workspaceId" = $1`,
      [workspaceId],
    );
    for (const r of rows) ids.add(r.id);
  }
  return ids;
}

async function tenantTables(api: TestApi): Promise<string[]> {
  const { rows } = await api.db.pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'workspaceId' ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

/** A digest of everything a workspace owns; lastUsedAt is written off the request path, so it is left out. */
async function fingerprint(api: TestApi, workspaceId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of await tenantTables(api)) {
    const { rows } = await api.db.pool.query<{ n: number; digest: string | null }>(
      `SELECT count(*)::int AS n, md5(string_agg((to_jsonb(t) - 'lastUsedAt')::text, '|' ORDER BY t.id)) AS digest FROM "${table}" t WHERE "workspaceId" = $1`,
      [workspaceId],
    );
    out[table] = `${rows[0]?.n}:${rows[0]?.digest ?? ""}`;
  }
  return out;
}

/** Rows whose foreign key points at a row of another workspace, for every such key in the schema. */
async function crossWorkspaceReferences(api: TestApi): Promise<string[]> {
  const { rows: fks } = await api.db.pool.query<{ child: string; col: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, a.attname AS col, c.confrelid::regclass::text AS parent
       FROM pg_constraint c
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
        AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = c.conrelid AND x.attname = 'workspaceId')
        AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = c.confrelid AND x.attname = 'workspaceId')`,
  );
  expect(fks.length).toBeGreaterThan(10);
  const bad: string[] = [];
  for (const fk of fks) {
    const { rows } = await api.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${fk.child} c JOIN ${fk.parent} p ON p.id = c."${fk.col}" WHERE c."workspaceId" <> p."workspaceId"`,
    );
    if ((rows[0]?.n ?? 0) > 0) bad.push(`${fk.child}.${fk.col} -> ${fk.parent}: ${rows[0]?.n} rows`);
  }
  return bad;
}

describe("tenancy", () => {
  const api = useTestApi();
  let a: SeededWorkspace;
  let b: SeededWorkspace;

  beforeAll(async () => {
    a = await seedWorkspace(api.a, "a");
    b = await seedWorkspace(api.b, "b");
    await api.a.as.ADMIN.secrets.set({ name: "A_SECRET", value: "a-only-value" });
    await api.a.as.ADMIN.variables.set({ name: "a_var", value: { a: true } });
    await api.a.as.ADMIN.members.createUser({ email: A_MEMBER, role: "developer", password: "a member's passphrase" });
    aInvitationId = (await api.a.as.ADMIN.members.invite({ email: "a-invitee@example.com", role: "viewer" })).id;
    await api.a.as.ADMIN.serviceAccounts.create({ name: `${A_ACCOUNT}-only`, role: "DEVELOPER" });
    // A's own calls above are in the audit log before the fingerprint of A is taken.
    await api.services.resources.audit.flush();
  });

  it("has a tenancy case for every procedure of the router", () => {
    const missing = procedures.map((p) => p.path).filter((path) => !(path in CASES));
    const stale = Object.keys(CASES).filter((path) => !procedures.some((p) => p.path === path));
    expect({ missing, stale }).toEqual({ missing: [], stale: [] });
  });

  it("every procedure called with workspace B's admin key on A's ids is denied or answers with B's data only", async () => {
    const before = await fingerprint(api, a.workspaceId);
    const aIds = await idsOf(api, a.workspaceId);
    const failures: string[] = [];
    for (const { path, type } of procedures) {
      const cases = CASES[path];
      if (!cases || cases === "subscription") continue;
      expect(type).not.toBe("subscription");
      for (const [i, c] of cases.entries()) {
        const label = `${path}#${i}`;
        const input = c.input?.(a, b);
        let output: unknown;
        let error: unknown = null;
        try {
          output = await procedure(api.b.as.ADMIN, path)(input);
        } catch (err) {
          error = err;
        }
        const code = (error as TRPCError | null)?.code;
        if (c.expect === "own") {
          if (error) {
            failures.push(`${label}: expected B's own data, got ${code ?? String(error)}: ${(error as Error).message}`);
            continue;
          }
          const text = JSON.stringify(output) ?? "";
          const leaked = [...aIds].filter((id) => text.includes(id));
          if (leaked.length > 0) failures.push(`${label}: answer names A's ids ${leaked.join(", ")}`);
          try {
            c.check?.(output);
          } catch (err) {
            failures.push(`${label}: ${(err as Error).message}`);
          }
        } else {
          const allowed = c.expect.deny ?? DENY.deny;
          if (!error)
            failures.push(
              `${label}: expected ${allowed.join("|")}, but it succeeded with ${JSON.stringify(output)?.slice(0, 300)}`,
            );
          else if (!code || !allowed.includes(code))
            failures.push(
              `${label}: expected ${allowed.join("|")}, got ${code ?? String(error)}: ${(error as Error).message}`,
            );
        }
      }
    }
    expect(failures).toEqual([]);
    // Nothing of A's changed, and nothing of B's now points into A.
    expect(await fingerprint(api, a.workspaceId)).toEqual(before);
    expect(await crossWorkspaceReferences(api)).toEqual([]);
  });

  it("every authenticated procedure refuses B's key when the request names workspace A", async () => {
    const caller = api.caller(api.b.keys.ADMIN, { workspaceName: a.workspaceName });
    const failures: string[] = [];
    for (const { path } of procedures) {
      if (PUBLIC_PROCEDURES.includes(path)) continue; // they take no bearer credential
      const cases = CASES[path];
      const first = cases && cases !== "subscription" ? cases[0] : undefined;
      try {
        await procedure(caller, path)(first?.input?.(a, b) ?? (path === "events.subscribe" ? undefined : {}));
        failures.push(`${path}: succeeded`);
      } catch (err) {
        if ((err as TRPCError).code !== "FORBIDDEN")
          failures.push(`${path}: ${(err as TRPCError).code} ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("a subscription in B never receives A's events, even when it names A's run", async () => {
    const received: FlowplaneEvent[] = [];
    const namingA: FlowplaneEvent[] = [];
    const controller = new AbortController();
    const caller = api.caller(api.b.keys.READ, { signal: controller.signal });
    const all = (await caller.events.subscribe()) as AsyncIterable<FlowplaneEvent>;
    const onA = (await caller.events.subscribe({ flowRunId: a.flowRunId })) as AsyncIterable<FlowplaneEvent>;
    const drain = async (it: AsyncIterable<FlowplaneEvent>, into: FlowplaneEvent[]) => {
      for await (const e of it) into.push(e);
    };
    const draining = Promise.all([drain(all, received), drain(onA, namingA)]);

    // Activity in A: states, task runs, logs, a new run, a cancel request.
    const aApi = api.a.as.ADMIN;
    const ts = new Date().toISOString();
    await aApi.ingest.batch({
      logs: [{ id: uuidv7(), flowRunId: a.flowRunId, name: "x", level: 20, message: "A only", timestamp: ts }],
    });
    await aApi.ingest.batch({
      taskRuns: [
        { id: uuidv7(), flowRunId: a.flowRunId, name: "t", taskKey: "late", dynamicKey: "0", tags: [], createdAt: ts },
      ],
    });
    await aApi.flowRuns.create({ flowName: a.flowName });
    await aApi.flowRuns.cancel({ id: a.subflowRunId });
    // Then a marker in B: events arrive in commit order on one LISTEN connection.
    const marker = await api.b.as.ADMIN.flowRuns.create({ flowName: "b-marker" });
    const deadline = Date.now() + 5_000;
    while (!received.some((e) => e.kind === "flow_run" && e.flowRunId === marker.id) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await draining;

    expect(received.some((e) => e.kind === "flow_run" && e.flowRunId === marker.id)).toBe(true);
    expect(received.filter((e) => e.workspaceId !== api.b.id)).toEqual([]);
    expect(JSON.stringify(received)).not.toContain(a.flowRunId);
    expect(namingA).toEqual([]);
  });
});
