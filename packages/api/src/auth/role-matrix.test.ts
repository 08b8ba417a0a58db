// The role matrix: every procedure of the router called by a person of each role (through their
// dashboard sign-in), by service accounts of each role (through their keys), and by people who are
// not members of the workspace. Each refusal is the expected one; a procedure without an entry in
// MIN fails the test, so a new procedure cannot ship without saying who may call it.
import type { TRPCError } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "../root.ts";
import { callError, PUBLIC_PROCEDURES, TestBrowser, useTestApi, type Caller } from "../testing.ts";
import { scopeAllows, type ApiKeyScope } from "./api-keys.ts";

type Tier = ApiKeyScope | "ORG_ADMIN" | "RUNTIME" | "RUN_TOKEN" | "PUBLIC";

/**
 * The least a caller needs for each procedure. RUNTIME: worker keys only (secret values);
 * RUN_TOKEN: a flow run's own token only, never a person or a key; ORG_ADMIN: organisation settings,
 * for the organisation's owners and admins and admin keys (not a workspace admin).
 */
const MIN: Record<string, Tier> = {
  ...Object.fromEntries(PUBLIC_PROCEDURES.map((p) => [p, "PUBLIC" as const])),
  "auth.deviceDecide": "READ",
  "auth.whoami": "READ",
  "auth.renewRunToken": "RUN_TOKEN",
  "workspaces.current": "READ",
  "workspaces.create": "ADMIN",
  "apiKeys.create": "ADMIN",
  "apiKeys.list": "ADMIN",
  "apiKeys.revoke": "ADMIN",
  "members.list": "READ",
  "members.invite": "ADMIN",
  "members.revokeInvitation": "ADMIN",
  "members.setRole": "ADMIN",
  "members.remove": "ADMIN",
  "members.createUser": "ADMIN",
  "members.resetLink": "ADMIN",
  "serviceAccounts.list": "ADMIN",
  "serviceAccounts.create": "ADMIN",
  "serviceAccounts.setRole": "ADMIN",
  "serviceAccounts.delete": "ADMIN",
  "serviceAccounts.createKey": "ADMIN",
  "sso.get": "ADMIN",
  "sso.configure": "ORG_ADMIN",
  "sso.remove": "ORG_ADMIN",
  "flows.list": "READ",
  "flows.get": "READ",
  "flowRuns.create": "WORKER",
  "flowRuns.get": "READ",
  "flowRuns.list": "READ",
  "flowRuns.setState": "WORKER",
  "flowRuns.setStates": "WORKER",
  "flowRuns.forceState": "ADMIN",
  "flowRuns.cancel": "DEVELOPER",
  "flowRuns.retry": "DEVELOPER",
  "flowRuns.setRetryPolicy": "WORKER",
  "flowRuns.heartbeat": "WORKER",
  "flowRuns.history": "READ",
  "flowRuns.counts": "READ",
  "taskRuns.list": "READ",
  "taskRuns.history": "READ",
  "taskRuns.setState": "WORKER",
  "ingest.batch": "WORKER",
  "logs.list": "READ",
  "artifacts.list": "READ",
  "deployments.upsert": "DEVELOPER",
  "deployments.list": "READ",
  "deployments.get": "READ",
  "deployments.run": "DEVELOPER",
  "deployments.backfill": "DEVELOPER",
  "deployments.setPaused": "DEVELOPER",
  "deployments.delete": "DEVELOPER",
  "workPools.create": "DEVELOPER",
  "workPools.list": "READ",
  "workPools.get": "READ",
  "workPools.update": "DEVELOPER",
  "workPools.delete": "DEVELOPER",
  "workQueues.create": "DEVELOPER",
  "workQueues.list": "READ",
  "workQueues.update": "DEVELOPER",
  "workQueues.delete": "DEVELOPER",
  "workers.heartbeat": "WORKER",
  "workers.poll": "WORKER",
  "workers.reportInfrastructure": "WORKER",
  "workers.extendClaim": "WORKER",
  "workers.infrastructureLocations": "WORKER",
  "workers.list": "READ",
  "events.subscribe": "READ",
  "secrets.set": "DEVELOPER",
  "secrets.list": "READ",
  "secrets.reads": "READ",
  "secrets.delete": "DEVELOPER",
  "secrets.resolveForRun": "RUNTIME",
  "secrets.setAllowDeploy": "ADMIN",
  "secrets.resolveForDeploy": "DEVELOPER",
  "secrets.rotateMasterKey": "ADMIN",
  "variables.set": "DEVELOPER",
  "variables.get": "READ",
  "variables.getMany": "READ",
  "variables.list": "READ",
  "variables.delete": "DEVELOPER",
  "audit.list": "ADMIN",
  "audit.export": "ADMIN",
};

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)
  .filter(([, p]) => p._def.type !== "subscription")
  .map(([path]) => path);

type Procedure = (input?: unknown) => Promise<unknown>;
const call = (caller: Caller, path: string, input: unknown) => {
  const [ns, name] = path.split(".") as [string, string];
  return (caller as unknown as Record<string, Record<string, Procedure>>)[ns]![name]!(input);
};
async function outcome(caller: Caller, path: string): Promise<TRPCError["code"] | "OK"> {
  try {
    // Input that fails validation: the call gets past authentication and the role check, then stops.
    await call(caller, path, { __invalid: true });
    return "OK";
  } catch (err) {
    return (err as TRPCError).code;
  }
}

const api = useTestApi({ config: { scryptCost: 2 ** 10 } });
const PASSWORD = "matrix passphrase 2026";
/** People of ws-a's organisation by role, and how they reach ws-a. */
const PEOPLE = {
  owner: { email: "owner@matrix.test", scope: "ADMIN" },
  admin: { email: "admin@matrix.test", scope: "ADMIN" },
  "workspace-admin": { email: "wsadmin@matrix.test", scope: "ADMIN" },
  developer: { email: "developer@matrix.test", scope: "DEVELOPER" },
  viewer: { email: "viewer@matrix.test", scope: "READ" },
} as const;
const tokens: Record<string, string> = {};
const accountKeys: Record<string, { key: string; scope: ApiKeyScope }> = {};

async function signInTo(email: string, workspace: string) {
  const browser = new TestBrowser();
  browser.csrfToken = (await api.caller(null, { http: browser }).auth.signIn({ email, password: PASSWORD })).csrfToken;
  return api.caller(null, { http: browser }).auth.accessToken({ workspace });
}

beforeAll(async () => {
  // The first owner through the workspace's own admin key (a service account); then the owner's turn.
  await api.a.as.ADMIN.members.createUser({ email: PEOPLE.owner.email, role: "owner", password: PASSWORD });
  const owner = api.caller((await signInTo(PEOPLE.owner.email, "ws-a")).token);
  for (const [role, p] of Object.entries(PEOPLE))
    if (role !== "owner")
      await owner.members.createUser({ email: p.email, role: role as keyof typeof PEOPLE, password: PASSWORD });
  for (const [role, p] of Object.entries(PEOPLE)) tokens[role] = (await signInTo(p.email, "ws-a")).token;
  // Service accounts of each role, each with the widest key its role allows.
  for (const [role, scope] of [
    ["VIEWER", "READ"],
    ["DEVELOPER", "WORKER"],
    ["ADMIN", "ADMIN"],
  ] as const) {
    await owner.serviceAccounts.create({ name: `sa-${role.toLowerCase()}`, role });
    const { key } = await owner.serviceAccounts.createKey({
      serviceAccount: `sa-${role.toLowerCase()}`,
      name: "k",
      scope,
    });
    accountKeys[role] = { key, scope };
  }
  // A member of the organisation with a role in another workspace only.
  await owner.workspaces.create({ name: "ws-a-other" });
  const other = api.caller((await signInTo(PEOPLE.owner.email, "ws-a-other")).token);
  await other.members.createUser({ email: "elsewhere@matrix.test", role: "developer", password: PASSWORD });
  // A person of another organisation (ws-b's owner).
  await api.b.as.ADMIN.members.createUser({ email: "outsider@matrix.test", role: "owner", password: PASSWORD });
}, 60_000);

describe("role matrix", () => {
  it("names the least tier of every procedure", () => {
    const missing = procedures.filter((p) => !(p in MIN));
    const stale = Object.keys(MIN).filter((p) => !procedures.includes(p) && p !== "events.subscribe");
    expect({ missing, stale }).toEqual({ missing: [], stale: [] });
  });

  it("each role and service account is refused exactly what its role does not allow", async () => {
    const actors: { label: string; caller: Caller; scope: ApiKeyScope; workerKey: boolean; orgAdmin: boolean }[] = [
      ...Object.entries(PEOPLE).map(([role, p]) => ({
        label: `${role} (sign-in)`,
        caller: api.caller(tokens[role]!),
        scope: p.scope as ApiKeyScope,
        workerKey: false,
        orgAdmin: role === "owner" || role === "admin",
      })),
      ...Object.entries(accountKeys).map(([role, k]) => ({
        label: `service account ${role.toLowerCase()} (${k.scope.toLowerCase()} key)`,
        caller: api.caller(k.key),
        scope: k.scope,
        workerKey: k.scope === "WORKER",
        orgAdmin: k.scope === "ADMIN",
      })),
    ];
    const wrong: string[] = [];
    for (const path of procedures) {
      const tier = MIN[path]!;
      if (tier === "PUBLIC") continue;
      for (const actor of actors) {
        const allowed =
          tier === "RUN_TOKEN"
            ? false
            : tier === "RUNTIME"
              ? actor.workerKey
              : tier === "ORG_ADMIN"
                ? actor.orgAdmin
                : scopeAllows(actor.scope, tier);
        const code = await outcome(actor.caller, path);
        if (allowed ? code === "FORBIDDEN" || code === "UNAUTHORIZED" : code !== "FORBIDDEN")
          wrong.push(`${actor.label} ${path}: ${code} (expected ${allowed ? "allowed" : "FORBIDDEN"})`);
      }
    }
    expect(wrong).toEqual([]);
    // The refusals are in the audit log, under the person who was refused.
    await api.services.resources.audit.flush();
    const refused = await api.caller(tokens.owner!).audit.list({ actor: PEOPLE.viewer.email, outcome: "refused" });
    expect(JSON.stringify(refused)).toContain("workPools.create");
    expect(JSON.stringify(refused)).toContain("FORBIDDEN");
  });

  it("non-members get no token for the workspace, and their own credentials are refused everywhere in it", async () => {
    for (const email of ["elsewhere@matrix.test", "outsider@matrix.test"]) {
      const err = await callError(signInTo(email, "ws-a"));
      expect(err.code, email).toBe("FORBIDDEN");
      expect(err.message).toMatch(/not a member of workspace "ws-a"/);
    }
    const outsiderToken = (await signInTo("outsider@matrix.test", "ws-b")).token;
    const elsewhereToken = (await signInTo("elsewhere@matrix.test", "ws-a-other")).token;
    const wrong: string[] = [];
    for (const [label, token] of [
      ["outsider", outsiderToken],
      ["member of another workspace", elsewhereToken],
    ] as const) {
      const caller = api.caller(token, { workspaceName: "ws-a" });
      for (const path of procedures) {
        if (MIN[path] === "PUBLIC") continue;
        const code = await outcome(caller, path);
        if (code !== "FORBIDDEN") wrong.push(`${label} ${path}: ${code}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("organisation roles bound who may make whom: admins cannot make owners, workspace admins cannot make admins", async () => {
    const admin = api.caller(tokens.admin!);
    const wsAdmin = api.caller(tokens["workspace-admin"]!);
    const owner = api.caller(tokens.owner!);
    const refusals: [() => Promise<unknown>, RegExp][] = [
      [() => admin.members.setRole({ email: PEOPLE.viewer.email, role: "owner" }), /only an owner can make owners/],
      [() => admin.members.invite({ email: "new-owner@matrix.test", role: "owner" }), /only an owner can make owners/],
      [() => admin.members.remove({ email: PEOPLE.owner.email }), /only an owner/],
      [() => wsAdmin.members.setRole({ email: PEOPLE.viewer.email, role: "admin" }), /owners and admins/],
      [() => wsAdmin.members.remove({ email: PEOPLE.admin.email }), /owners and admins/],
      [
        () => wsAdmin.members.createUser({ email: "x@matrix.test", role: "admin", password: PASSWORD }),
        /owners and admins/,
      ],
    ];
    for (const [attempt, why] of refusals) {
      const err = await callError(attempt());
      expect(`${err.code} ${err.message}`).toMatch(new RegExp(`^FORBIDDEN .*${why.source}`));
    }
    // A workspace admin removes people from their workspace only, never from the organisation.
    await wsAdmin.members.remove({ email: PEOPLE.developer.email });
    expect((await wsAdmin.members.list()).find((m) => m.email === PEOPLE.developer.email)).toMatchObject({
      role: null,
    });
    await wsAdmin.members.setRole({ email: PEOPLE.developer.email, role: "developer" });
    tokens.developer = (await signInTo(PEOPLE.developer.email, "ws-a")).token;
    // What they may do.
    expect(await wsAdmin.members.setRole({ email: PEOPLE.viewer.email, role: "developer" })).toMatchObject({
      role: "developer",
    });
    expect(await admin.members.setRole({ email: PEOPLE.viewer.email, role: "viewer" })).toMatchObject({
      role: "viewer",
    });
    const last = await callError(owner.members.setRole({ email: PEOPLE.owner.email, role: "admin" }));
    expect(last.message).toMatch(/last owner/);
  });

  it("a demotion narrows a person's open sign-in at once", async () => {
    const owner = api.caller(tokens.owner!);
    const dev = api.caller(tokens.developer!);
    await dev.workPools.create({ name: "matrix-pool", type: "process" });
    await owner.members.setRole({ email: PEOPLE.developer.email, role: "viewer" });
    expect((await callError(dev.workPools.delete({ name: "matrix-pool" }))).code).toBe("FORBIDDEN");
    expect((await dev.auth.whoami()).scope).toBe("READ");
    await owner.members.setRole({ email: PEOPLE.developer.email, role: "developer" });
  });
});
