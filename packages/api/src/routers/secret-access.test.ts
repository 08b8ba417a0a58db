// Who may read a secret's value (issue 16.2): a run's own token, for its own run, only the secrets
// its deployment references (parameters, job variables, pull steps) or declares for its code
// (`secrets:`); the key of the worker holding the run, only what the run's job configuration
// references. Every read is recorded with the run, the worker and who read it. Real PostgreSQL,
// through the router stack.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callError, createTestApi, TestBrowser, type Caller, type TestApi } from "../testing.ts";

let api: TestApi;
let worker: Caller;
let workerId: string;

const SECRETS = ["IN_PARAMS", "IN_JOB_VARS", "IN_POOL", "IN_PULL", "DECLARED", "UNDECLARED"];

beforeAll(async () => {
  api = await createTestApi();
  worker = api.a.as.WORKER;
  for (const name of SECRETS) await api.a.as.ADMIN.secrets.set({ name, value: `value-of-${name}` });
  await api.a.as.DEVELOPER.workPools.create({
    name: "reads",
    type: "process",
    baseJobTemplate: {
      job_configuration: { env: "{{ env }}", command: "{{ command }}" },
      variables: {
        type: "object",
        properties: {
          env: { type: "object", default: { POOL_TOKEN: "{{ secret.IN_POOL }}" } },
          command: { type: "string" },
        },
      },
    },
  });
  await api.a.as.DEVELOPER.deployments.upsert({
    flowName: "reads",
    name: "d",
    entrypoint: "x.ts:f",
    workPoolName: "reads",
    parameters: { password: "{{ secret.IN_PARAMS }}" },
    jobVariables: { env: { TOKEN: "{{ secret.IN_JOB_VARS }}" } },
    pullSteps: [{ git_clone: { repository: "https://example.com/r.git", access_token: "{{ secret.IN_PULL }}" } }],
    secrets: ["DECLARED"],
  });
  workerId = (await worker.workers.heartbeat({ workPoolName: "reads", workerName: "reader" })).workerId;
});
afterAll(async () => {
  await api?.close();
});

async function claimedRun() {
  const run = await api.a.as.DEVELOPER.deployments.run({ name: "reads/d" });
  const claimed = (await worker.workers.poll({ workerId, limit: 10, waitMs: 0 })).runs.find((r) => r.id === run.id)!;
  return { id: run.id, claimToken: claimed.claimToken, as: api.caller(claimed.runToken) };
}

describe("secret reads", () => {
  it("a run's token reads what its deployment references or declares, and is told exactly how to declare any other", async () => {
    const run = await claimedRun();
    const read = await run.as.secrets.resolveForRun({
      flowRunId: run.id,
      names: ["IN_PARAMS", "IN_JOB_VARS", "IN_POOL", "IN_PULL", "DECLARED"],
    });
    expect(read.values).toEqual({
      IN_PARAMS: "value-of-IN_PARAMS",
      IN_JOB_VARS: "value-of-IN_JOB_VARS",
      IN_POOL: "value-of-IN_POOL",
      IN_PULL: "value-of-IN_PULL",
      DECLARED: "value-of-DECLARED",
    });
    const refused = await callError(
      run.as.secrets.resolveForRun({ flowRunId: run.id, names: ["DECLARED", "UNDECLARED"] }),
    );
    expect(refused.code).toBe("FORBIDDEN");
    expect(refused.message).toBe(
      'names: secret "UNDECLARED" is not declared by deployment "reads/d"; a run reads only the secrets its ' +
        "deployment references or declares. To read it from code, declare it on the deployment — in flowplane.yaml: " +
        "`secrets: [UNDECLARED]`, or `flowplane deploy --secret UNDECLARED` — and deploy again",
    );
    // Nothing was read for the refused request, not even the declared name asked with it.
    expect(await api.a.as.READ.secrets.reads({ name: "UNDECLARED" })).toEqual([]);
    expect(await api.a.as.READ.secrets.reads({ name: "DECLARED" })).toHaveLength(1);
  });

  it("a worker key reads only what the run's job configuration references, for a run whose claim it holds", async () => {
    const run = await claimedRun();
    const read = await worker.secrets.resolveForRun({
      flowRunId: run.id,
      names: ["IN_JOB_VARS", "IN_POOL"],
      claimToken: run.claimToken,
    });
    expect(Object.keys(read.values).sort()).toEqual(["IN_JOB_VARS", "IN_POOL"]);
    for (const name of ["IN_PARAMS", "IN_PULL", "DECLARED", "UNDECLARED"]) {
      const err = await callError(
        worker.secrets.resolveForRun({ flowRunId: run.id, names: [name], claimToken: run.claimToken }),
      );
      expect(err.code, name).toBe("FORBIDDEN");
      expect(err.message).toMatch(
        /is not referenced by the job variables of flow run .*; a worker key reads only those/,
      );
    }
  });

  it("a worker key a person owns, and the run tokens issued to it, are refused; a service account's worker key reads", async () => {
    // An admin person may create a worker key; it is theirs, and secret values never go to people.
    await api.a.as.ADMIN.members.createUser({ email: "ops@reads.test", role: "admin", password: "a long password 1" });
    const browser = new TestBrowser();
    const signIn = api.caller(null, { http: browser }).auth.signIn;
    browser.csrfToken = (await signIn({ email: "ops@reads.test", password: "a long password 1" })).csrfToken;
    const { token } = await api.caller(null, { http: browser }).auth.accessToken({ workspace: api.a.name });
    const personKey = api.caller(
      (await api.caller(token).apiKeys.create({ name: "ops laptop worker", scope: "WORKER" })).key,
    );
    const personWorker = (await personKey.workers.heartbeat({ workPoolName: "reads", workerName: "ops" })).workerId;
    const run = await api.a.as.DEVELOPER.deployments.run({ name: "reads/d" });
    const claimed = (await personKey.workers.poll({ workerId: personWorker, limit: 10, waitMs: 0 })).runs.find(
      (r) => r.id === run.id,
    )!;
    for (const [label, caller, claimToken] of [
      ["person's worker key", personKey, claimed.claimToken],
      ["run token issued to it", api.caller(claimed.runToken), undefined],
    ] as const) {
      const err = await callError(
        caller.secrets.resolveForRun({ flowRunId: run.id, names: ["IN_JOB_VARS"], claimToken }),
      );
      expect(`${err.code} ${err.message}`, label).toMatch(
        /^FORBIDDEN secret values are never given to people, and this (worker key is|run token was issued to a worker key) owned by the person ops@reads\.test; run workers with a worker key of a service account/,
      );
    }
    expect((await api.a.as.READ.secrets.reads({ name: "IN_JOB_VARS" })).filter((r) => r.flowRunId === run.id)).toEqual(
      [],
    );

    // A worker key of a service account, and its run's token, read as before.
    await api.a.as.ADMIN.serviceAccounts.create({ name: "ops-workers", role: "DEVELOPER" });
    const accountKey = api.caller(
      (await api.a.as.ADMIN.serviceAccounts.createKey({ serviceAccount: "ops-workers", name: "w", scope: "WORKER" }))
        .key,
    );
    const accountWorker = (await accountKey.workers.heartbeat({ workPoolName: "reads", workerName: "ops-sa" }))
      .workerId;
    const next = await api.a.as.DEVELOPER.deployments.run({ name: "reads/d" });
    const held = (await accountKey.workers.poll({ workerId: accountWorker, limit: 10, waitMs: 0 })).runs.find(
      (r) => r.id === next.id,
    )!;
    const byKey = await accountKey.secrets.resolveForRun({
      flowRunId: next.id,
      names: ["IN_JOB_VARS"],
      claimToken: held.claimToken,
    });
    expect(byKey.values).toEqual({ IN_JOB_VARS: "value-of-IN_JOB_VARS" });
    const byToken = await api.caller(held.runToken).secrets.resolveForRun({ flowRunId: next.id, names: ["IN_PULL"] });
    expect(byToken.values).toEqual({ IN_PULL: "value-of-IN_PULL" });
  });

  it("records every read: which run, which worker, whether the run's token or the worker's key read it, when", async () => {
    const run = await claimedRun();
    const before = Date.now();
    await worker.secrets.resolveForRun({ flowRunId: run.id, names: ["IN_JOB_VARS"], claimToken: run.claimToken });
    await run.as.secrets.resolveForRun({ flowRunId: run.id, names: ["IN_JOB_VARS"] });
    const reads = (await api.a.as.READ.secrets.reads({ name: "IN_JOB_VARS" })).filter((r) => r.flowRunId === run.id);
    expect(reads.map((r) => r.reader).sort()).toEqual(["run", "worker"]);
    for (const r of reads) {
      expect(r).toMatchObject({ flowRunId: run.id, workerId, apiKeyId: api.a.keyIds.WORKER });
      expect(Date.parse(r.readAt)).toBeGreaterThanOrEqual(before - 1_000);
    }
    const listed = (await api.a.as.READ.secrets.list()).find((s) => s.name === "IN_JOB_VARS")!;
    expect(Date.parse(listed.lastReadAt!)).toBeGreaterThanOrEqual(before - 1_000);
  });

  it("stores the declared secrets on the deployment, shows them, and a change of them is a new version", async () => {
    const before = await api.a.as.READ.deployments.get({ name: "reads/d" });
    expect(before.secrets).toEqual(["DECLARED"]);
    const changed = await api.a.as.DEVELOPER.deployments.upsert({
      flowName: "reads",
      name: "d2",
      entrypoint: "x.ts:f",
      secrets: ["B", "A", "B"],
    });
    expect((await api.a.as.READ.deployments.get({ name: "reads/d2" })).secrets).toEqual(["A", "B"]);
    const again = await api.a.as.DEVELOPER.deployments.upsert({
      flowName: "reads",
      name: "d2",
      entrypoint: "x.ts:f",
      secrets: ["A"],
    });
    expect(again.version).toBe(changed.version + 1);
    expect(again.changed).toContain("secrets");
    const bad = await callError(
      api.a.as.DEVELOPER.deployments.upsert({
        flowName: "reads",
        name: "d3",
        entrypoint: "x.ts:f",
        secrets: ["not a name"],
      }),
    );
    expect(bad.code).toBe("BAD_REQUEST");
    expect(bad.message).toContain('"secrets"');
  });
});
