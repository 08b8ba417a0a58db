// Secrets at deploy time (secrets.resolveForDeploy): `flowplane deploy` reads a secret for its build
// and push steps only when a workspace admin allowed it, only as a service account that may deploy
// (CI; never a person), and each read is recorded and audited like a run's.
import { randomBytes } from "node:crypto";
import type { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ZodError } from "zod";
import { callError, createTestApi, TestBrowser, type TestApi } from "../testing.ts";

let api: TestApi;
const PASSWORD = "deploy secrets passphrase";
const canary = () => `canary-${randomBytes(12).toString("hex")}`;

beforeAll(async () => {
  api = await createTestApi({ config: { scryptCost: 2 ** 10 } });
});
afterAll(async () => {
  await api?.close();
});

/** A person of workspace a with `role`, signed in through the dashboard; a caller with their token. */
async function person(email: string, role: "developer" | "viewer") {
  await api.a.as.ADMIN.members.createUser({ email, role, password: PASSWORD });
  const browser = new TestBrowser();
  browser.csrfToken = (await api.caller(null, { http: browser }).auth.signIn({ email, password: PASSWORD })).csrfToken;
  const { token } = await api.caller(null, { http: browser }).auth.accessToken({ workspace: api.a.name });
  return api.caller(token);
}

const request = (names: string[], deploymentNames = ["etl/nightly"]) => ({
  deploymentNames,
  steps: [{ phase: "push" as const, index: 0, step: "docker_push", id: "push", names }],
});

async function auditEvents(action: string) {
  await api.services.resources.audit.flush();
  return (await api.a.as.ADMIN.audit.list({ action })).events;
}

describe("allowing a secret at deploy", () => {
  it("is off by default, only a workspace admin turns it on or off, and each change is audited", async () => {
    const value = canary();
    const created = await api.a.as.DEVELOPER.secrets.set({ name: "REGISTRY_PASSWORD", value });
    expect(created.secret.allowDeploy).toBe(false);
    // A developer may set values, not the flag: with it, nothing is written.
    const onSet = await callError(
      api.a.as.DEVELOPER.secrets.set({ name: "REGISTRY_PASSWORD", value: "other", allowDeploy: true }),
    );
    expect(`${onSet.code} ${onSet.message}`).toMatch(
      /^FORBIDDEN allowDeploy: only a workspace admin may allow or disallow a secret at deploy; yours is a developer key/,
    );
    const dev = await callError(
      api.a.as.DEVELOPER.secrets.setAllowDeploy({ name: "REGISTRY_PASSWORD", allowDeploy: true }),
    );
    expect(dev.code).toBe("FORBIDDEN");
    const listed = () => api.a.as.READ.secrets.list().then((l) => l.find((s) => s.name === "REGISTRY_PASSWORD")!);
    expect(await listed()).toMatchObject({ allowDeploy: false, updatedAt: created.secret.updatedAt });

    expect(await api.a.as.ADMIN.secrets.setAllowDeploy({ name: "REGISTRY_PASSWORD", allowDeploy: true })).toMatchObject(
      { name: "REGISTRY_PASSWORD", allowDeploy: true },
    );
    expect((await listed()).allowDeploy).toBe(true);
    // A developer's new value keeps the admin's decision.
    await api.a.as.DEVELOPER.secrets.set({ name: "REGISTRY_PASSWORD", value });
    expect((await listed()).allowDeploy).toBe(true);
    // On create or update, in one call, by an admin.
    expect(
      (await api.a.as.ADMIN.secrets.set({ name: "REGISTRY_PASSWORD", value, allowDeploy: false })).secret.allowDeploy,
    ).toBe(false);
    expect(
      (await api.a.as.ADMIN.secrets.set({ name: "ALLOWED_AT_CREATE", value: canary(), allowDeploy: true })).secret,
    ).toMatchObject({ allowDeploy: true });
    const missing = await callError(api.a.as.ADMIN.secrets.setAllowDeploy({ name: "NO_SUCH", allowDeploy: true }));
    expect(`${missing.code} ${missing.message}`).toBe('NOT_FOUND name: secret "NO_SUCH" not found');

    const changes = await auditEvents("secrets.setAllowDeploy");
    expect(changes.map((e) => [e.target, e.outcome, e.actor.apiKeyId])).toEqual([
      [{ name: "NO_SUCH", allowDeploy: true }, "refused", api.a.keyIds.ADMIN],
      [{ name: "REGISTRY_PASSWORD", allowDeploy: true }, "ok", api.a.keyIds.ADMIN],
      [{ name: "REGISTRY_PASSWORD", allowDeploy: true }, "refused", api.a.keyIds.DEVELOPER],
    ]);
    const onSets = (await auditEvents("secrets.set")).filter(
      (e) => (e.target as Record<string, unknown> | null)?.["allowDeploy"] !== undefined,
    );
    expect(onSets.map((e) => [e.target, e.outcome])).toEqual([
      [{ name: "ALLOWED_AT_CREATE", allowDeploy: true }, "ok"],
      [{ name: "REGISTRY_PASSWORD", allowDeploy: false }, "ok"],
      [{ name: "REGISTRY_PASSWORD", allowDeploy: true }, "refused"],
    ]);
  });
});

describe("secrets.resolveForDeploy", () => {
  it("refuses secrets not allowed at deploy or missing, naming each with the command that allows it, and reads nothing", async () => {
    await api.a.as.ADMIN.secrets.set({ name: "NOT_ALLOWED", value: canary() });
    await api.a.as.ADMIN.secrets.set({ name: "ALLOWED", value: canary(), allowDeploy: true });
    const refused = await callError(api.a.as.DEVELOPER.secrets.resolveForDeploy(request(["ALLOWED", "NOT_ALLOWED"])));
    expect(`${refused.code} ${refused.message}`).toBe(
      'FORBIDDEN names: secret "NOT_ALLOWED" is not allowed at deploy; a workspace admin allows it with ' +
        "`flowplane secret set NOT_ALLOWED --allow-deploy --keep-value` (build and push steps read only secrets a " +
        "workspace admin allowed at deploy)",
    );
    const missing = await callError(api.a.as.DEVELOPER.secrets.resolveForDeploy(request(["ALLOWED", "ABSENT"])));
    expect(`${missing.code} ${missing.message}`).toMatch(
      /^NOT_FOUND names: secret "ABSENT" does not exist; a workspace admin creates it with `flowplane secret set ABSENT --allow-deploy`/,
    );
    // Not even the allowed one was read.
    expect(await api.a.as.READ.secrets.reads({ name: "ALLOWED" })).toEqual([]);
    expect((await api.a.as.READ.secrets.list()).find((s) => s.name === "ALLOWED")?.lastReadAt).toBeNull();
    // Another workspace's allowed secret of the same name is not this one.
    await api.b.as.ADMIN.secrets.set({ name: "ONLY_IN_B", value: canary(), allowDeploy: true });
    expect((await callError(api.a.as.DEVELOPER.secrets.resolveForDeploy(request(["ONLY_IN_B"])))).code).toBe(
      "NOT_FOUND",
    );
  });

  it("gives allowed values to service accounts that may deploy (developer and admin keys), never to people, READ or worker keys", async () => {
    const value = canary();
    await api.a.as.ADMIN.secrets.set({ name: "PUSH_TOKEN", value, allowDeploy: true });
    for (const [label, caller] of [
      ["developer key", api.a.as.DEVELOPER],
      ["admin key", api.a.as.ADMIN],
    ] as const)
      expect(await caller.secrets.resolveForDeploy(request(["PUSH_TOKEN"])), label).toEqual({
        values: { PUSH_TOKEN: value },
      });
    for (const [label, caller] of [
      ["READ key", api.a.as.READ],
      ["WORKER key", api.a.as.WORKER],
      ["viewer sign-in", await person("viewer@deploy.test", "viewer")],
    ] as const) {
      const err = await callError(caller.secrets.resolveForDeploy(request(["PUSH_TOKEN"])));
      expect(`${err.code} ${err.message}`, label).toMatch(
        /^FORBIDDEN this needs a developer key; yours is (read|worker)/,
      );
    }
    // Secret values are never returned to people: a developer's sign-in and a key the person owns
    // (what `flowplane login` gives them) are refused, and told to deploy from CI.
    const developer = await person("dev@deploy.test", "developer");
    const device = await api.caller(null).auth.deviceStart({ clientName: "laptop" });
    await developer.auth.deviceDecide({ userCode: device.userCode, approve: true });
    const login = await api.caller(null).auth.devicePoll({ deviceCode: device.deviceCode });
    if (login.status !== "approved") throw new Error(`device sign-in ${login.status}`);
    for (const [label, caller] of [
      ["developer sign-in", developer],
      ["developer's own key", api.caller(login.apiKey)],
    ] as const) {
      const err = await callError(caller.secrets.resolveForDeploy(request(["PUSH_TOKEN"])));
      expect(`${err.code} ${err.message}`, label).toMatch(
        /^FORBIDDEN build and push steps read secrets only as a service account \(CI\), never as a person; deploy from CI with a key of a service account/,
      );
    }
    expect(await api.a.as.READ.secrets.reads({ name: "PUSH_TOKEN" })).toHaveLength(2);
  });

  it("records each read per secret and step with the reader and the deployments, and audits the call without the value", async () => {
    const value = canary();
    const other = canary();
    await api.a.as.ADMIN.secrets.set({ name: "REG_PASS", value, allowDeploy: true });
    await api.a.as.ADMIN.secrets.set({ name: "REG_USER", value: other, allowDeploy: true });
    const before = Date.now();
    const got = await api.a.as.DEVELOPER.secrets.resolveForDeploy({
      deploymentNames: ["etl/nightly", "etl/hourly"],
      steps: [
        { phase: "build", index: 1, step: "docker_build", id: null, names: ["REG_PASS"] },
        { phase: "push", index: 0, step: "docker_push", id: "push", names: ["REG_PASS", "REG_USER"] },
      ],
    });
    expect(got.values).toEqual({ REG_PASS: value, REG_USER: other });
    const who = await api.a.as.DEVELOPER.auth.whoami();
    if (who.actor.type !== "service-account") throw new Error("the DEVELOPER key belongs to a service account");
    const reads = await api.a.as.READ.secrets.reads({ name: "REG_PASS" });
    const byKey = {
      reader: "deploy",
      deployments: ["etl/nightly", "etl/hourly"],
      userId: null,
      serviceAccountId: who.actor.id,
      apiKeyId: api.a.keyIds.DEVELOPER,
      flowRunId: null,
      workerId: null,
    };
    expect(reads.map(({ readAt: _, ...r }) => r).sort((x, y) => x.step!.localeCompare(y.step!))).toEqual([
      { ...byKey, step: "build step 2 (docker_build)" },
      { ...byKey, step: 'push step 1 (docker_push "push")' },
    ]);
    expect(Date.parse(reads[0]!.readAt)).toBeGreaterThanOrEqual(before - 1_000);

    const [event] = (await auditEvents("secrets.resolveForDeploy")).filter(
      (e) => e.outcome === "ok" && JSON.stringify(e.target).includes("etl/hourly"),
    );
    expect(event).toMatchObject({
      outcome: "ok",
      target: { names: ["REG_PASS", "REG_USER"], deploymentNames: ["etl/nightly", "etl/hourly"] },
    });
    const { rows } = await api.db.pool.query<{ row: string }>(`SELECT to_jsonb(e)::text AS row FROM "AuditEvent" e`);
    expect(rows.map((r) => r.row).join("\n")).not.toContain(value);
    const refusedEvents = (await auditEvents("secrets.resolveForDeploy")).filter((e) => e.outcome === "refused");
    expect(refusedEvents.length).toBeGreaterThan(0);
  });

  it("bounds the request like the other procedures", async () => {
    const tooMany = await callError(
      api.a.as.DEVELOPER.secrets.resolveForDeploy({
        deploymentNames: ["etl/nightly"],
        steps: Array.from({ length: 101 }, (_, i) => ({
          phase: "push" as const,
          index: i,
          step: "docker_push",
          id: null,
          names: ["X"],
        })),
      }),
    );
    const issue = (err: TRPCError) => {
      const first = (err.cause as ZodError).issues[0]!;
      return `${err.code} ${first.path.join(".")} ${first.code}`;
    };
    expect(issue(tooMany)).toBe("BAD_REQUEST steps too_big");
    const badName = await callError(api.a.as.DEVELOPER.secrets.resolveForDeploy(request(["not a name"])));
    expect(issue(badName)).toBe("BAD_REQUEST steps.0.names.0 invalid_format");
  });
});
