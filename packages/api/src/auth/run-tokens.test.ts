// Run tokens (issue 13.4): each claimed attempt gets its own short-lived token, limited to its
// flow run. The matrix calls every procedure of the router with a run token: what a run needs
// about itself is allowed, everything else is FORBIDDEN, and the list of allowed procedures is
// spelled out here, so a new procedure is closed to run tokens until someone decides otherwise.
// Then: a sibling run of the same workspace is out of reach, and an expired, forged,
// wrong-audience or superseded token is refused. Real PostgreSQL, through the router stack.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@flowplane/core";
import type { TRPCError } from "@trpc/server";
import { appRouter } from "../root.ts";
import { sweepLiveness } from "../services/liveness.ts";
import { callError, createPoolDeployment, createTestApi, useTestApi, type Caller } from "../testing.ts";
import { issueRunToken, RUN_TOKEN_PREFIX, runTokenClaimsFor } from "./run-tokens.ts";
import { issueSessionToken } from "./session-tokens.ts";
import { TokenSigner } from "./token-signer.ts";

const api = useTestApi({ config: { runTokenTtlSeconds: 600 } });
let worker: Caller;
let workerId: string;

beforeAll(async () => {
  worker = api.a.as.WORKER;
  await createPoolDeployment(api.a.as.DEVELOPER, "tokens", {
    flowName: "tokens",
    name: "d",
    entrypoint: "x.ts:f",
    secrets: ["TOKEN_SECRET"],
  });
  await api.a.as.ADMIN.secrets.set({ name: "TOKEN_SECRET", value: "for-runs" });
  await api.a.as.ADMIN.variables.set({ name: "token_var", value: 7 });
  workerId = (await worker.workers.heartbeat({ workPoolName: "tokens", workerName: "token-worker" })).workerId;
});

/** A new deployment run claimed by the worker: its id, claim token and run token. */
async function claimedRun() {
  const run = await api.a.as.DEVELOPER.deployments.run({ name: "tokens/d" });
  const polled = await worker.workers.poll({ workerId, limit: 50, waitMs: 0 });
  const claimed = polled.runs.find((r) => r.id === run.id);
  if (!claimed) throw new Error(`run ${run.id} was not claimed`);
  return { id: run.id, claimToken: claimed.claimToken, token: claimed.runToken, as: api.caller(claimed.runToken) };
}

/** A task run of `flowRunId`, recorded through `caller`. */
async function taskRunOf(caller: Caller, flowRunId: string): Promise<string> {
  const id = uuidv7();
  const stored = await caller.ingest.batch({
    taskRuns: [
      { id, flowRunId, name: "t", taskKey: "t", dynamicKey: "0", tags: [], createdAt: new Date().toISOString() },
    ],
  });
  expect(stored.taskRuns).toBe(1);
  return id;
}

/** The claims the worker's key gets signed into a run token for `run`'s attempt. */
async function claimsOf(run: { id: string; claimToken: string }) {
  const auth = await api.services.authenticator.authenticate(api.a.keys.WORKER);
  if (!auth.ok) throw new Error(auth.reason);
  return runTokenClaimsFor(auth.principal, { flowRunId: run.id, claimToken: run.claimToken });
}

type Procedure = (input?: unknown) => Promise<unknown>;
function call(caller: Caller, path: string, input?: unknown): Promise<unknown> {
  const [ns, name] = path.split(".") as [string, string];
  return (caller as unknown as Record<string, Record<string, Procedure>>)[ns]![name]!(input);
}

describe("run tokens", () => {
  it("are given with each claim, and allow exactly what a run needs about itself (matrix over every procedure)", async () => {
    const run = await claimedRun();
    expect(run.token.startsWith(RUN_TOKEN_PREFIX)).toBe(true);
    expect(run.token).not.toContain(api.a.keys.WORKER);
    const taskRunId = await taskRunOf(run.as, run.id);
    const at = new Date().toISOString();
    const allowed: Record<string, () => unknown> = {
      "auth.whoami": () => undefined,
      "auth.renewRunToken": () => undefined,
      "flowRuns.get": () => ({ id: run.id }),
      "flowRuns.setRetryPolicy": () => ({ id: run.id, retryPolicy: { retries: 0 } }),
      "flowRuns.setState": () => ({ id: run.id, state: { type: "RUNNING" } }),
      "flowRuns.setStates": () => ({ proposals: [{ id: run.id, state: { type: "RUNNING" } }] }),
      "flowRuns.heartbeat": () => ({ id: run.id }),
      "flowRuns.create": () => ({ flowName: "token-child", parentTaskRunId: taskRunId }),
      "taskRuns.setState": () => ({ id: taskRunId, state: { type: "RUNNING" } }),
      "ingest.batch": () => ({
        logs: [{ id: uuidv7(), flowRunId: run.id, taskRunId, name: "l", level: 20, message: "hi", timestamp: at }],
        artifacts: [{ id: uuidv7(), flowRunId: run.id, taskRunId, type: "MARKDOWN", data: "# a" }],
      }),
      "secrets.resolveForRun": () => ({ flowRunId: run.id, names: ["TOKEN_SECRET"] }),
      "variables.get": () => ({ name: "token_var" }),
      "variables.getMany": () => ({ names: ["token_var"] }),
    };
    const failures: string[] = [];
    const procedures = Object.entries(
      appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
    ).map(([path, p]) => ({ path, type: p._def.type }));
    for (const { path, type } of procedures) {
      if (type === "subscription") continue; // below
      // Public procedures (sign-in, key exchange, invitations) take no bearer credential at all.
      const anonymous = await call(api.caller(null), path, { __invalid: true }).catch((err: TRPCError) => err.code);
      if (anonymous !== "UNAUTHORIZED") continue;
      const input = allowed[path];
      try {
        await call(run.as, path, input ? input() : { __invalid: true });
        if (!input) failures.push(`${path}: allowed, expected FORBIDDEN`);
      } catch (err) {
        const e = err as TRPCError;
        if (input) failures.push(`${path}: ${e.code} ${e.message}`);
        else if (e.code !== "FORBIDDEN") failures.push(`${path}: ${e.code}, expected FORBIDDEN`);
        else if (!e.message.includes("a run token may act only on its own flow run"))
          failures.push(`${path}: FORBIDDEN without saying why: ${e.message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(Object.keys(allowed).every((path) => procedures.some((p) => p.path === path))).toBe(true);
    // What the allowed calls did is there, and attributed to the run.
    const logs = await api.a.as.READ.logs.list({ flowRunId: run.id });
    expect(logs.map((l) => l.message)).toContain("hi");
    expect((await api.a.as.READ.taskRuns.list({ flowRunId: run.id })).map((t) => t.id)).toContain(taskRunId);
    // A subscription is refused too (live updates are for people and dashboards).
    const sub = await callError(run.as.events.subscribe().then((it) => it[Symbol.asyncIterator]().next()));
    expect(sub.code).toBe("FORBIDDEN");
    // whoami says what the token is.
    expect(await run.as.auth.whoami()).toMatchObject({ via: "run", flowRunId: run.id, workspace: { name: "ws-a" } });
  });

  it("cannot act on a sibling run of the same workspace, nor on its task runs or sub-flow runs", async () => {
    const mine = await claimedRun();
    const sibling = await claimedRun();
    const siblingTask = await taskRunOf(sibling.as, sibling.id);
    const siblingChild = await sibling.as.flowRuns.create({ flowName: "sibling-child", parentTaskRunId: siblingTask });
    const adhoc = await api.a.as.DEVELOPER.flowRuns.create({ flowName: "adhoc", state: { type: "RUNNING" } });
    for (const other of [sibling.id, siblingChild.id, adhoc.id]) {
      for (const attempt of [
        () => mine.as.flowRuns.get({ id: other }),
        () => mine.as.flowRuns.setState({ id: other, state: { type: "CANCELLED" } }),
        () => mine.as.flowRuns.heartbeat({ id: other }),
        () => mine.as.flowRuns.setRetryPolicy({ id: other, retryPolicy: { retries: 9 } }),
        () => mine.as.secrets.resolveForRun({ flowRunId: other, names: ["TOKEN_SECRET"] }),
      ]) {
        const err = await callError(attempt());
        expect(err.code, other).toBe("FORBIDDEN");
        expect(err.message).toMatch(/is not this run token's: it may act only on flow run/);
      }
      const batch = await mine.as.flowRuns.setStates({ proposals: [{ id: other, state: { type: "COMPLETED" } }] });
      expect(batch[0]).toMatchObject({ error: { code: "FORBIDDEN" } });
    }
    expect((await callError(mine.as.taskRuns.setState({ id: siblingTask, state: { type: "FAILED" } }))).code).toBe(
      "FORBIDDEN",
    );
    // No run of its own to hang it on: no free-standing runs, no sub-flows of others' task runs.
    expect((await callError(mine.as.flowRuns.create({ flowName: "free" }))).code).toBe("FORBIDDEN");
    expect((await callError(mine.as.flowRuns.create({ flowName: "stolen", parentTaskRunId: siblingTask }))).code).toBe(
      "FORBIDDEN",
    );
    // Records for others' runs are not stored.
    const at = new Date().toISOString();
    const stored = await mine.as.ingest.batch({
      taskRuns: [
        { id: uuidv7(), flowRunId: sibling.id, name: "x", taskKey: "x", dynamicKey: "0", tags: [], createdAt: at },
      ],
      taskRunStates: [{ id: uuidv7(), taskRunId: siblingTask, type: "FAILED", name: "Failed", timestamp: at }],
      logs: [{ id: uuidv7(), flowRunId: adhoc.id, name: "l", level: 40, message: "forged", timestamp: at }],
      artifacts: [
        { id: uuidv7(), flowRunId: sibling.id, type: "MARKDOWN", data: "forged" },
        { id: uuidv7(), type: "MARKDOWN", key: "run-less", data: "forged" },
      ],
    });
    expect(stored).toMatchObject({ taskRuns: 0, taskRunStates: 0, logs: 0, artifacts: 0 });
    // The sibling's and the ad-hoc run's states are what they were.
    expect((await api.a.as.READ.flowRuns.get({ id: sibling.id })).state.type).toBe("PENDING");
    expect((await api.a.as.READ.flowRuns.get({ id: siblingChild.id })).state.type).toBe("SCHEDULED");
    expect((await api.a.as.READ.flowRuns.get({ id: adhoc.id })).state.type).toBe("RUNNING");
    expect(
      (await api.a.as.READ.taskRuns.list({ flowRunId: sibling.id })).find((t) => t.id === siblingTask)?.stateType,
    ).toBe("PENDING");
  });

  it("drives its own sub-flow runs: states, task runs, logs, nested sub-flows, through their retries", async () => {
    const run = await claimedRun();
    await run.as.flowRuns.setState({ id: run.id, state: { type: "RUNNING" } });
    const parentTask = await taskRunOf(run.as, run.id);
    const child = await run.as.flowRuns.create({
      flowName: "own-child",
      parentTaskRunId: parentTask,
      retryPolicy: { retries: 1 },
    });
    expect((await run.as.flowRuns.setState({ id: child.id, state: { type: "RUNNING" } })).decision).toBe("ACCEPT");
    // A failure with a retry left goes back to SCHEDULED (AwaitingRetry): still the attempt's.
    const failed = await run.as.flowRuns.setState({ id: child.id, state: { type: "FAILED" } });
    expect(failed.state.name).toBe("AwaitingRetry");
    expect((await run.as.flowRuns.setState({ id: child.id, state: { type: "RUNNING" } })).decision).toBe("ACCEPT");
    const childTask = await taskRunOf(run.as, child.id);
    const grandchild = await run.as.flowRuns.create({ flowName: "own-grandchild", parentTaskRunId: childTask });
    expect((await run.as.flowRuns.get({ id: grandchild.id })).parentFlowRunId).toBe(child.id);
    expect((await run.as.flowRuns.heartbeat({ id: child.id })).cancelRequested).toBe(false);
    expect((await run.as.flowRuns.setState({ id: child.id, state: { type: "COMPLETED" } })).decision).toBe("ACCEPT");
  });

  it("refuses an expired, forged, wrong-audience or foreign-key token (UNAUTHORIZED)", async () => {
    const run = await claimedRun();
    const claims = await claimsOf(run);
    const shortLived = await issueRunToken(api.services.tokens, claims, 1);
    // Tampered claims keep the signature of the original: the signature no longer matches.
    const [header, payload, signature] = run.token.slice(RUN_TOKEN_PREFIX.length).split(".") as [
      string,
      string,
      string,
    ];
    const claimsJson = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const tampered = Buffer.from(JSON.stringify({ ...claimsJson, exp: Number(claimsJson.exp) + 86_400 })).toString(
      "base64url",
    );
    const foreignSigner = new TokenSigner(
      async () => {
        const secret = randomBytes(32);
        const kid = JSON.parse(Buffer.from(header, "base64url").toString()).kid as string;
        return { current: { kid, secret }, verifying: new Map([[kid, secret]]) };
      },
      { maxTtlSeconds: 3600 },
    );
    const session = await issueSessionToken(
      api.services.tokens,
      { kind: "api-key", apiKeyId: api.a.keyIds.WORKER, workspaceId: api.a.id },
      600,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const cases: [string, string, RegExp][] = [
      ["expired", shortLived.token, /run token expired/],
      ["tampered", `${RUN_TOKEN_PREFIX}${header}.${tampered}.${signature}`, /invalid run token/],
      ["signed with another key", (await issueRunToken(foreignSigner, claims, 600)).token, /invalid run token/],
      ["a session token presented as a run token", RUN_TOKEN_PREFIX + session.token, /invalid run token/],
      ["a run token without its prefix (read as a session)", run.token.slice(RUN_TOKEN_PREFIX.length), /session/],
    ];
    for (const [label, token, reason] of cases) {
      const err = await callError(api.caller(token).flowRuns.get({ id: run.id }));
      expect(err.code, label).toBe("UNAUTHORIZED");
      expect(err.message, label).toMatch(reason);
    }
    // Naming another workspace than the token's is refused like a key's.
    expect((await callError(api.caller(run.token, { workspaceName: "ws-b" }).flowRuns.get({ id: run.id }))).code).toBe(
      "FORBIDDEN",
    );
  });

  it("refuses a superseded attempt's token with CLAIM_SUPERSEDED and never renews it; the new attempt's token works", async () => {
    const first = await claimedRun();
    // The first attempt's infrastructure never started: its claim expires and the run is claimed again.
    await api.db.pool.query(`UPDATE "FlowRun" SET "claimExpiresAt" = now() - interval '1 second' WHERE id = $1`, [
      first.id,
    ]);
    await sweepLiveness(api.services.resources, { missedWorkerHeartbeats: 3, runHeartbeatTimeoutSeconds: 60 });
    const again = (await worker.workers.poll({ workerId, limit: 50, waitMs: 0 })).runs.find((r) => r.id === first.id)!;
    expect(again.claimToken).not.toBe(first.claimToken);
    for (const attempt of [
      () => first.as.flowRuns.setState({ id: first.id, state: { type: "RUNNING" } }),
      () => first.as.flowRuns.heartbeat({ id: first.id }),
      () => first.as.auth.renewRunToken(),
      () => first.as.secrets.resolveForRun({ flowRunId: first.id, names: ["TOKEN_SECRET"] }),
      () => first.as.flowRuns.get({ id: first.id }),
    ]) {
      const err = await callError(attempt());
      expect(err.code).toBe("CONFLICT");
      expect((err.cause as { apiCode?: string } | undefined)?.apiCode ?? err.message).toMatch(
        /CLAIM_SUPERSEDED|no longer the run's current one/,
      );
    }
    const current = api.caller(again.runToken);
    expect((await current.flowRuns.setState({ id: first.id, state: { type: "RUNNING" } })).decision).toBe("ACCEPT");
  });

  it("renews while its attempt holds the claim, never beyond maxTokenTtlSeconds, and not once the run has ended", async () => {
    const run = await claimedRun();
    const renewed = await run.as.auth.renewRunToken();
    const lifetimeMs = Date.parse(renewed.expiresAt) - Date.now();
    expect(lifetimeMs).toBeGreaterThan(590_000);
    expect(lifetimeMs).toBeLessThanOrEqual(600_000);
    const next = api.caller(renewed.token);
    await next.flowRuns.setState({ id: run.id, state: { type: "RUNNING" } });
    await next.flowRuns.setState({ id: run.id, state: { type: "COMPLETED" } });
    const ended = await callError(next.auth.renewRunToken());
    expect(ended.code).toBe("PRECONDITION_FAILED");
    expect(ended.message).toMatch(/has ended/);
    // Keys are not renewed as run tokens.
    expect((await callError(worker.auth.renewRunToken())).code).toBe("FORBIDDEN");

    const capped = await createTestApi({ config: { runTokenTtlSeconds: 7_200, maxTokenTtlSeconds: 1_800 } });
    try {
      const token = await issueRunToken(
        capped.services.tokens,
        await claimsOf(run),
        capped.services.config.runTokenTtlSeconds,
      );
      expect(Date.parse(token.expiresAt) - Date.now()).toBeLessThanOrEqual(1_800_000);
    } finally {
      await capped.close();
    }
  });
});
