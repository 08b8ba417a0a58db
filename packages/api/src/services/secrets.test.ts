// Secrets and variables through the API: values sealed at rest and never returned to people,
// metadata for everyone, every read recorded against its run, master key rotation by re-wrapping.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MasterKeyring } from "../crypto/envelope.ts";
import { createApiServices } from "../services.ts";
import { callError, useTestApi, type TestWorkspace } from "../testing.ts";
import type { ApiServices } from "../trpc.ts";
import { MasterKeyMismatchError } from "./signing-keys.ts";

const oldMasterKey = randomBytes(32);
const api = useTestApi({ masterKeys: new MasterKeyring(oldMasterKey) });

const canary = () => `canary-${randomBytes(12).toString("hex")}`;

let deployments = 0;
/**
 * A claimed run of a deployment declaring `names` for its code, in workspace `ws`: its id, the
 * worker holding it and a caller with the run's own token (what reads secret values at run time).
 */
async function runReading(names: string[], ws: TestWorkspace = api.a, services?: ApiServices) {
  const pool = `secrets-${ws.name}`;
  if (!(await ws.as.READ.workPools.list()).some((p) => p.name === pool))
    await ws.as.DEVELOPER.workPools.create({ name: pool, type: "process" });
  const name = `d${++deployments}`;
  await ws.as.DEVELOPER.deployments.upsert({
    flowName: "uses-secrets",
    name,
    entrypoint: "x.ts:f",
    workPoolName: pool,
    secrets: names,
  });
  const run = await ws.as.DEVELOPER.deployments.run({ name: `uses-secrets/${name}` });
  const { workerId } = await ws.as.WORKER.workers.heartbeat({ workPoolName: pool, workerName: "w" });
  const claimed = (await ws.as.WORKER.workers.poll({ workerId, limit: 10, waitMs: 0 })).runs.find(
    (r) => r.id === run.id,
  )!;
  return { id: run.id, workerId, as: api.caller(claimed.runToken, services ? { services } : {}) };
}

describe("secrets", () => {
  it("a value is sealed in the database and no list or get gives it to any scope", async () => {
    const value = canary();
    const set = await api.a.as.DEVELOPER.secrets.set({ name: "DB_PASSWORD", value });
    expect(set).toMatchObject({ created: true, secret: { name: "DB_PASSWORD", createdBy: { name: "developer key" } } });
    const { rows } = await api.db.pool.query(`SELECT * FROM "Secret"`);
    expect(JSON.stringify(rows)).not.toContain(value);
    expect(JSON.stringify(rows)).not.toContain(Buffer.from(value).toString("base64"));
    expect(String(rows.find((r: { name: string }) => r.name === "DB_PASSWORD")?.value)).toMatch(/^fpenc:v1:/);
    for (const scope of ["READ", "WORKER", "DEVELOPER", "ADMIN"] as const) {
      const list = await api.a.as[scope].secrets.list();
      expect(JSON.stringify(list), scope).not.toContain(value);
      expect(
        list.find((s) => s.name === "DB_PASSWORD"),
        scope,
      ).toMatchObject({
        createdBy: { id: api.a.keyIds.DEVELOPER, name: "developer key" },
        lastReadAt: null,
        allowDeploy: false,
      });
    }
  });

  it("updating keeps who created it and records who updated it", async () => {
    await api.a.as.DEVELOPER.secrets.set({ name: "ROTATED", value: "one" });
    const again = await api.a.as.ADMIN.secrets.set({ name: "ROTATED", value: "two" });
    expect(again.created).toBe(false);
    expect(again.secret.createdBy?.id).toBe(api.a.keyIds.DEVELOPER);
    expect(again.secret.updatedBy?.id).toBe(api.a.keyIds.ADMIN);
    const run = await runReading(["ROTATED"]);
    expect((await run.as.secrets.resolveForRun({ flowRunId: run.id, names: ["ROTATED"] })).values).toEqual({
      ROTATED: "two",
    });
  });

  it("a run's worker reads values, each read is recorded with the run and key, and missing names are listed", async () => {
    const value = canary();
    await api.a.as.ADMIN.secrets.set({ name: "API_TOKEN", value });
    const run = await runReading(["API_TOKEN", "NOPE"]);
    const answer = await run.as.secrets.resolveForRun({ flowRunId: run.id, names: ["API_TOKEN", "NOPE"] });
    expect(answer).toEqual({ values: { API_TOKEN: value }, missing: ["NOPE"] });
    const reads = await api.a.as.READ.secrets.reads({ name: "API_TOKEN" });
    expect(reads).toEqual([
      {
        flowRunId: run.id,
        workerId: run.workerId,
        apiKeyId: api.a.keyIds.WORKER,
        reader: "run",
        userId: null,
        serviceAccountId: null,
        deployments: [],
        step: null,
        readAt: expect.any(String) as string,
      },
    ]);
    const meta = (await api.a.as.READ.secrets.list()).find((s) => s.name === "API_TOKEN")!;
    expect(meta.lastReadAt).toBe(reads[0]!.readAt);
  });

  it("values are read only for a run of the caller's workspace that is being started or running", async () => {
    await api.a.as.ADMIN.secrets.set({ name: "GUARDED", value: "v" });
    const done = await runReading(["GUARDED"]);
    await done.as.flowRuns.setState({ id: done.id, state: { type: "RUNNING" } });
    await done.as.flowRuns.setState({ id: done.id, state: { type: "COMPLETED" } });
    const err = await callError(done.as.secrets.resolveForRun({ flowRunId: done.id, names: ["GUARDED"] }));
    expect(err.code).toBe("PRECONDITION_FAILED");
    expect(err.message).toContain("COMPLETED");
    const mine = await runReading(["GUARDED"]);
    const other = await callError(api.b.as.WORKER.secrets.resolveForRun({ flowRunId: mine.id, names: ["GUARDED"] }));
    expect(other.code).toBe("NOT_FOUND");
    // A secret of the same name in B is B's own value.
    await api.b.as.ADMIN.secrets.set({ name: "GUARDED", value: "b-value" });
    const bRun = await runReading(["GUARDED"], api.b);
    expect((await bRun.as.secrets.resolveForRun({ flowRunId: bRun.id, names: ["GUARDED"] })).values).toEqual({
      GUARDED: "b-value",
    });
  });

  it("bad names and empty values are refused naming the field; rm removes; rm of a missing name is NOT_FOUND", async () => {
    const invalidPath = (err: unknown) =>
      (err as { cause?: { issues?: { path: string[] }[] } }).cause?.issues?.[0]?.path;
    for (const name of ["has space", "1starts_with_digit", "dash-ed", ""]) {
      const err = await callError(api.a.as.ADMIN.secrets.set({ name, value: "x" }));
      expect([err.code, invalidPath(err)], name).toEqual(["BAD_REQUEST", ["name"]]);
    }
    const empty = await callError(api.a.as.ADMIN.secrets.set({ name: "EMPTY", value: "" }));
    expect([empty.code, invalidPath(empty)]).toEqual(["BAD_REQUEST", ["value"]]);
    await api.a.as.ADMIN.secrets.set({ name: "GONE", value: "x" });
    expect(await api.a.as.DEVELOPER.secrets.delete({ name: "GONE" })).toEqual({ name: "GONE", deleted: true });
    expect((await callError(api.a.as.DEVELOPER.secrets.delete({ name: "GONE" }))).code).toBe("NOT_FOUND");
  });

  it("rotate-master-key re-wraps every data key, after which the old master key is no longer needed", async () => {
    const value = canary();
    await api.a.as.ADMIN.secrets.set({ name: "SURVIVES_ROTATION", value });
    const before = (
      await api.db.pool.query<{ value: string }>(`SELECT value FROM "Secret" WHERE name = 'SURVIVES_ROTATION'`)
    ).rows[0]!.value;
    const newMasterKey = randomBytes(32);
    // Without the old key the server refuses to start, and changes nothing.
    const refused = await createApiServices({ db: api.db, masterKeys: new MasterKeyring(newMasterKey) }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(MasterKeyMismatchError);

    const rotating = await createApiServices({
      db: api.db,
      masterKeys: new MasterKeyring(newMasterKey, [oldMasterKey]),
    });
    try {
      const viaRotating = api.caller(api.a.keys.ADMIN, { services: rotating });
      expect(
        (await callError(api.caller(api.a.keys.DEVELOPER, { services: rotating }).secrets.rotateMasterKey())).code,
      ).toBe("FORBIDDEN");
      const result = await viaRotating.secrets.rotateMasterKey();
      expect(result.secrets).toBeGreaterThan(0);
      expect(result.signingKeys).toBeGreaterThan(0);
      expect(result.masterKeyId).toBe(rotating.masterKeys.currentId);
      expect(await viaRotating.secrets.rotateMasterKey()).toMatchObject({ secrets: 0, signingKeys: 0 });
      const after = (
        await api.db.pool.query<{ value: string }>(`SELECT value FROM "Secret" WHERE name = 'SURVIVES_ROTATION'`)
      ).rows[0]!.value;
      // Only the wrapped data key changed; the value's ciphertext is the same.
      expect(after.split(":")[2]).toBe(rotating.masterKeys.currentId);
      expect(after.split(":").slice(4)).toEqual(before.split(":").slice(4));
    } finally {
      await rotating.events.stop();
    }
    const onlyNew = await createApiServices({ db: api.db, masterKeys: new MasterKeyring(newMasterKey) });
    try {
      const run = await runReading(["SURVIVES_ROTATION"], api.a, onlyNew);
      const read = await run.as.secrets.resolveForRun({ flowRunId: run.id, names: ["SURVIVES_ROTATION"] });
      expect(read.values).toEqual({ SURVIVES_ROTATION: value });
    } finally {
      await onlyNew.events.stop();
    }
  });
});

describe("variables", () => {
  it("stores JSON values that any key of the workspace reads, and only developers change", async () => {
    await api.a.as.DEVELOPER.variables.set({ name: "region", value: "eu-west-1" });
    await api.a.as.DEVELOPER.variables.set({ name: "limits", value: { cpu: 2, tags: ["a"] } });
    expect((await api.a.as.READ.variables.get({ name: "limits" })).value).toEqual({ cpu: 2, tags: ["a"] });
    expect((await api.a.as.READ.variables.list()).map((v) => v.name).slice(0, 2)).toEqual(["limits", "region"]);
    expect(await api.a.as.WORKER.variables.getMany({ names: ["region", "absent"] })).toEqual({
      values: { region: "eu-west-1" },
      missing: ["absent"],
    });
    expect((await callError(api.a.as.READ.variables.set({ name: "region", value: "x" }))).code).toBe("FORBIDDEN");
    await api.a.as.DEVELOPER.variables.set({ name: "region", value: "us-east-1" });
    expect((await api.a.as.READ.variables.get({ name: "region" })).value).toBe("us-east-1");
    expect(await api.a.as.DEVELOPER.variables.delete({ name: "region" })).toEqual({ name: "region", deleted: true });
    const err = await callError(api.a.as.READ.variables.get({ name: "region" }));
    expect([err.code, err.message]).toEqual(["NOT_FOUND", 'name: variable "region" not found']);
  });
});
