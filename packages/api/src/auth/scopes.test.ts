// Scopes on every procedure: a READ key (or its dashboard session) cannot change anything, a WORKER
// key cannot manage keys, workspaces, deployments or pools, a DEVELOPER key cannot manage keys, and
// an ADMIN key can do all of it. The READ sweep is generated from the router.
import { describe, expect, it } from "vitest";
import type { TRPCError } from "@trpc/server";
import { appRouter } from "../root.ts";
import { API_KEY_SCOPES, type ApiKeyScope } from "./api-keys.ts";
import { callError, createPoolDeployment, useTestApi, PUBLIC_PROCEDURES, type Caller } from "../testing.ts";

const api = useTestApi();

type Procedure = (input?: unknown) => Promise<unknown>;
const procedures = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
).map(([path, p]) => ({ path, type: p._def.type }));
/**
 * Procedures of the runtime tier (trpc.ts runtimeProcedure: WORKER keys only, not the scopes
 * above) and of the run-token tier (no key at all; see run-tokens.test.ts).
 */
const RUNTIME_ONLY = ["secrets.resolveForRun", "auth.renewRunToken"];
const mutations = procedures.filter((p) => p.type === "mutation").map((p) => p.path);

function call(caller: Caller, path: string, input?: unknown): Promise<unknown> {
  const [ns, name] = path.split(".") as [string, string];
  return (caller as unknown as Record<string, Record<string, Procedure>>)[ns]![name]!(input);
}

/** The error code of a call, or "OK". */
async function outcome(caller: Caller, path: string, input?: unknown): Promise<TRPCError["code"] | "OK"> {
  try {
    await call(caller, path, input);
    return "OK";
  } catch (err) {
    return (err as TRPCError).code;
  }
}

describe("scopes", () => {
  it("a READ key, and a session made from one, cannot call any mutation", async () => {
    expect(mutations.length).toBeGreaterThan(20);
    const session = await api.caller(null).auth.createSession({ apiKey: api.a.keys.READ });
    for (const [label, caller] of [
      ["READ key", api.a.as.READ],
      ["READ session", api.caller(session.token)],
    ] as const) {
      const allowed: string[] = [];
      for (const path of mutations) {
        if (PUBLIC_PROCEDURES.includes(path)) continue; // they take no bearer credential
        // A viewer confirms a device sign-in for themselves (the CLI gets a key of their role, no more).
        if (path === "auth.deviceDecide") continue;
        const code = await outcome(caller, path, {});
        if (code !== "FORBIDDEN") allowed.push(`${path}: ${code}`);
      }
      expect(allowed, label).toEqual([]);
    }
  });

  it("a WORKER key cannot manage keys, workspaces, deployments or work pools", async () => {
    const worker = api.a.as.WORKER;
    const attempts: [string, unknown][] = [
      ["apiKeys.create", { name: "escalate", scope: "ADMIN" }],
      ["apiKeys.list", undefined],
      ["apiKeys.revoke", { id: api.a.keyIds.ADMIN }],
      ["workspaces.create", { name: "worker-made" }],
      ["deployments.upsert", { flowName: "f", name: "d", entrypoint: "f.ts:f" }],
      ["workPools.create", { name: "worker-pool", type: "process" }],
      ["workPools.update", { name: "any", paused: true }],
      ["workPools.delete", { name: "any" }],
      ["flowRuns.forceState", { id: "01990000-0000-7000-8000-000000000000", state: { type: "COMPLETED" } }],
    ];
    for (const [path, input] of attempts) expect(await outcome(worker, path, input), path).toBe("FORBIDDEN");
    expect(await api.db.prisma.apiKey.count({ where: { name: "escalate" } })).toBe(0);
    expect(await api.db.prisma.workspace.count({ where: { name: "worker-made" } })).toBe(0);
  });

  it("a WORKER key can do a worker's job: heartbeats, runs, states, ingestion", async () => {
    await api.a.as.DEVELOPER.workPools.create({ name: "scoped-pool", type: "process" });
    const worker = api.a.as.WORKER;
    await worker.workers.heartbeat({ workPoolName: "scoped-pool", workerName: "w1" });
    const run = await worker.flowRuns.create({ flowName: "scoped" });
    expect((await worker.flowRuns.setState({ id: run.id, state: { type: "RUNNING" } })).decision).toBe("ACCEPT");
    expect(await worker.ingest.batch({ logs: [] })).toEqual({
      taskRuns: 0,
      taskRunStates: 0,
      logs: 0,
      artifacts: 0,
      rejected: [],
    });
  });

  it("a DEVELOPER key cannot manage keys or workspaces, but can manage pools and deployments", async () => {
    const dev = api.a.as.DEVELOPER;
    for (const [path, input] of [
      ["apiKeys.create", { name: "dev-made" }],
      ["apiKeys.list", undefined],
      ["apiKeys.revoke", { id: api.a.keyIds.WORKER }],
      ["workspaces.create", { name: "dev-made" }],
      ["flowRuns.forceState", { id: "01990000-0000-7000-8000-000000000000", state: { type: "COMPLETED" } }],
    ] as const) {
      expect(await outcome(dev, path, input), path).toBe("FORBIDDEN");
    }
    await dev.workPools.create({ name: "dev-pool", type: "docker" });
    const d = await dev.deployments.upsert({
      flowName: "dev-flow",
      name: "dev",
      entrypoint: "f.ts:f",
      workPoolName: "dev-pool",
    });
    expect(d.created).toBe(true);
  });

  it("an ADMIN key can manage keys and workspaces, and force a state", async () => {
    const admin = api.a.as.ADMIN;
    const created = await admin.apiKeys.create({ name: "admin-made", scope: "WORKER" });
    expect(created.key).toMatch(/^fp_[0-9a-f]{12}_/);
    expect((await admin.apiKeys.list()).some((k) => k.id === created.apiKey.id)).toBe(true);
    expect((await admin.apiKeys.revoke({ id: created.apiKey.id })).status).toBe("revoked");
    const ws = await admin.workspaces.create({ name: "admin-made" });
    expect((await api.caller(ws.apiKey).workspaces.current()).name).toBe("admin-made");
    const run = await admin.flowRuns.create({ flowName: "forced" });
    expect((await admin.flowRuns.forceState({ id: run.id, state: { type: "COMPLETED" } })).decision).toBe("ACCEPT");
  });

  // Deploy time is the one other way to a value, for secrets a workspace admin allowed at deploy
  // (secrets.resolveForDeploy, see routers/secrets-deploy.test.ts); SCOPED is not one.
  it("run-time secret values go to worker keys only: no person's key or session, whatever its scope, gets one", async () => {
    await api.a.as.DEVELOPER.secrets.set({ name: "SCOPED", value: "scoped-value" });
    // A run whose job variables reference the secret, claimed by the worker (what a worker may read).
    await createPoolDeployment(api.a.as.DEVELOPER, "reads-pool", {
      flowName: "reads",
      name: "d",
      entrypoint: "f.ts:f",
      jobVariables: { env: { TOKEN: "{{ secret.SCOPED }}" } },
    });
    const run = await api.a.as.DEVELOPER.deployments.run({ name: "reads/d" });
    const { workerId } = await api.a.as.WORKER.workers.heartbeat({ workPoolName: "reads-pool", workerName: "r" });
    const { runs } = await api.a.as.WORKER.workers.poll({ workerId, limit: 1, waitMs: 0 });
    const input = { flowRunId: run.id, names: ["SCOPED"], claimToken: runs[0]!.claimToken };
    const adminSession = await api.caller(null).auth.createSession({ apiKey: api.a.keys.ADMIN });
    const workerSession = await api.caller(null).auth.createSession({ apiKey: api.a.keys.WORKER });
    for (const [label, caller] of [
      ["READ", api.a.as.READ],
      ["DEVELOPER", api.a.as.DEVELOPER],
      ["ADMIN", api.a.as.ADMIN],
      ["ADMIN session", api.caller(adminSession.token)],
      ["WORKER session", api.caller(workerSession.token)],
    ] as const)
      expect(await outcome(caller, "secrets.resolveForRun", input), label).toBe("FORBIDDEN");
    expect(await api.a.as.WORKER.secrets.resolveForRun(input)).toEqual({
      values: { SCOPED: "scoped-value" },
      missing: [],
    });
    expect(await outcome(api.a.as.WORKER, "secrets.set", { name: "W", value: "x" })).toBe("FORBIDDEN");
  });

  it("scopes are ordered: whatever a lower scope may call, every higher scope may call too", async () => {
    const rank = (s: ApiKeyScope) => ["READ", "WORKER", "DEVELOPER", "ADMIN"].indexOf(s);
    const scopes = [...API_KEY_SCOPES].sort((x, y) => rank(x) - rank(y));
    const broken: string[] = [];
    for (const { path, type } of procedures) {
      if (type === "subscription" || PUBLIC_PROCEDURES.includes(path)) continue;
      // The one deliberate exception, tested above: secret values are never given to a person.
      if (RUNTIME_ONLY.includes(path)) continue;
      // Input that fails validation: it reaches the scope check without changing anything.
      const codes = await Promise.all(scopes.map((s) => outcome(api.b.as[s], path, { __invalid: true })));
      const firstAllowed = codes.findIndex((c) => c !== "FORBIDDEN");
      if (firstAllowed >= 0 && codes.slice(firstAllowed).some((c) => c === "FORBIDDEN"))
        broken.push(`${path}: ${codes.join(",")}`);
      if (codes.at(-1) === "FORBIDDEN") broken.push(`${path}: forbidden even to ADMIN`);
    }
    expect(broken).toEqual([]);
  });

  it("a workspace's first admin key cannot be used for another workspace", async () => {
    const err = await callError(api.caller(api.a.keys.ADMIN, { workspaceName: "ws-b" }).apiKeys.list());
    expect(err.code).toBe("FORBIDDEN");
  });
});
