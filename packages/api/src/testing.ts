// Test scaffolding for the API: a fresh migrated database, the real services on it (event bus
// listening), and two workspaces with one key of every scope, called through tRPC's createCaller
// exactly as the HTTP adapter would call the router (same middleware, same error formatter).
import { randomBytes } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { afterAll, beforeAll } from "vitest";
import { uuidv7 } from "@flowplane/core";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { API_KEY_SCOPES, type ApiKeyScope } from "./auth/api-keys.ts";
import type { RateLimit } from "./auth/rate-limiter.ts";
import { appRouter } from "./root.ts";
import { MasterKeyring } from "./crypto/envelope.ts";
import { createApiServices } from "./services.ts";
import type { Mailer } from "./services/mailer.ts";
import { createApiKey, createOrganization } from "./services/workspaces.ts";
import { createCallerFactory, type ApiConfig, type ApiServices, type HttpExchange } from "./trpc.ts";

const createCaller = createCallerFactory(appRouter);

/**
 * Procedures that take no bearer credential: signing in (password, API key, invitation), the
 * sign-in cookie's own calls, reset links and the CLI's device start and poll. Sweeps by credential
 * skip them; the role matrix tests them by what they take instead.
 */
export const PUBLIC_PROCEDURES = [
  "auth.createSession",
  "auth.signIn",
  "auth.accessToken",
  "auth.signOut",
  "auth.signOutEverywhere",
  "auth.requestPasswordReset",
  "auth.resetPassword",
  "auth.invitation",
  "auth.acceptInvitation",
  "auth.deviceStart",
  "auth.devicePoll",
];
export type Caller = ReturnType<typeof createCaller>;

export interface TestWorkspace {
  id: string;
  name: string;
  /** Plain API keys by scope (ADMIN is the workspace's first key). */
  keys: Record<ApiKeyScope, string>;
  keyIds: Record<ApiKeyScope, string>;
  /** Callers authenticated with the key of each scope. */
  as: Record<ApiKeyScope, Caller>;
}

export interface TestApi {
  db: TestDatabase;
  services: ApiServices;
  a: TestWorkspace;
  b: TestWorkspace;
  /** A caller presenting `credential` (API key or session token), optionally naming a workspace. */
  caller(
    credential: string | null,
    options?: {
      workspaceName?: string | null;
      services?: ApiServices;
      signal?: AbortSignal;
      client?: { ip: string | null; userAgent: string | null };
      /** A browser's cookies (TestBrowser); its address and user agent become the request's client. */
      http?: TestBrowser;
    },
  ): Caller;
  /** Another replica's services on the same database (own authenticator cache, own event bus). */
  replica(options?: { authCacheTtlMs?: number; rateLimit?: RateLimit | null }): Promise<ApiServices>;
  close(): Promise<void>;
}

export interface TestApiOptions {
  config?: Partial<ApiConfig>;
  rateLimit?: RateLimit | null;
  authCacheTtlMs?: number;
  poolSize?: number;
  /** Defaults to a fresh random master key. */
  masterKeys?: MasterKeyring;
  mailer?: Mailer | null;
  auditFlushIntervalMs?: number;
}

export async function createTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const db = await createTestDatabase({ poolSize: options.poolSize ?? 20 });
  const masterKeys = options.masterKeys ?? new MasterKeyring(randomBytes(32));
  const started: ApiServices[] = [];
  const start = async (o: { authCacheTtlMs?: number; rateLimit?: RateLimit | null }) => {
    const services = await createApiServices({
      db,
      masterKeys,
      ...(options.config ? { config: options.config } : {}),
      rateLimit: o.rateLimit ?? null,
      mailer: options.mailer ?? null,
      ...(options.auditFlushIntervalMs !== undefined ? { auditFlushIntervalMs: options.auditFlushIntervalMs } : {}),
      ...(o.authCacheTtlMs !== undefined ? { authCacheTtlMs: o.authCacheTtlMs } : {}),
    });
    await services.events.start();
    started.push(services);
    return services;
  };
  try {
    const services = await start({
      ...(options.authCacheTtlMs !== undefined ? { authCacheTtlMs: options.authCacheTtlMs } : {}),
      rateLimit: options.rateLimit ?? null,
    });
    const caller: TestApi["caller"] = (credential, o = {}) =>
      createCaller(
        {
          services: o.services ?? services,
          credential,
          workspaceName: o.workspaceName ?? null,
          ...(o.client ? { client: o.client } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
          ...(o.http ? { http: o.http, client: o.client ?? { ip: o.http.ip, userAgent: o.http.userAgent } } : {}),
        },
        o.signal ? { signal: o.signal } : {},
      );
    const workspace = async (name: string): Promise<TestWorkspace> => {
      // Each test workspace is its own organisation: a and b are two tenants.
      const created = await createOrganization(db.prisma, `org-${name}`, name);
      const admin = await db.prisma.apiKey.findFirstOrThrow({
        where: { workspaceId: created.workspace.id, scope: "ADMIN" },
        select: { id: true, serviceAccountId: true },
      });
      const keys = { ADMIN: created.apiKey } as Record<ApiKeyScope, string>;
      const keyIds = { ADMIN: admin.id } as Record<ApiKeyScope, string>;
      for (const scope of API_KEY_SCOPES) {
        if (scope === "ADMIN") continue;
        const k = await createApiKey(
          db.prisma,
          created.workspace.id,
          { serviceAccountId: admin.serviceAccountId! },
          `${scope.toLowerCase()} key`,
          scope,
        );
        keys[scope] = k.key;
        keyIds[scope] = k.row.id;
      }
      const as = Object.fromEntries(API_KEY_SCOPES.map((s) => [s, caller(keys[s])])) as Record<ApiKeyScope, Caller>;
      return { id: created.workspace.id, name: created.workspace.name, keys, keyIds, as };
    };
    const a = await workspace("ws-a");
    const b = await workspace("ws-b");
    return {
      db,
      services,
      a,
      b,
      caller,
      replica: (o = {}) => start(o),
      async close() {
        for (const s of started) await s.events.stop();
        for (const s of started) await s.resources.audit.close();
        await db.drop();
      },
    };
  } catch (err) {
    for (const s of started) await s.events.stop();
    await db.drop();
    throw err;
  }
}

/**
 * The test file's API: created by a beforeAll hook and closed by an afterAll hook, registered here
 * (call it before the file's own hooks, which may then use it). The answer stands for the API from
 * that hook on; reading it before, at a module's top level, throws.
 */
export function useTestApi(options: TestApiOptions = {}): TestApi {
  let api: TestApi | undefined;
  beforeAll(async () => {
    api = await createTestApi(options);
  });
  afterAll(async () => {
    await api?.close();
  });
  return new Proxy({} as TestApi, {
    get(_, key) {
      if (!api) throw new Error("useTestApi: the API exists once the file's beforeAll hooks run");
      return Reflect.get(api, key);
    },
  });
}

/**
 * Claims `flowRunId` as a worker does: a heartbeat as `workerName` in `workPoolName`, then one poll
 * for up to `limit` due runs (it claims all of them); fails unless the run is among them.
 */
export async function claimRun(
  worker: Caller,
  at: { workPoolName: string; workerName: string; limit: number },
  flowRunId: string,
) {
  const { workerId } = await worker.workers.heartbeat({ workPoolName: at.workPoolName, workerName: at.workerName });
  const polled = await worker.workers.poll({ workerId, limit: at.limit, waitMs: 0 });
  const claimed = polled.runs.find((r) => r.id === flowRunId);
  if (!claimed) throw new Error(`${at.workerName} did not claim ${flowRunId}`);
  return { workerId, claimed };
}

/** Creates a process work pool and a deployment in it, as `caller`. */
export async function createPoolDeployment(
  caller: Caller,
  workPoolName: string,
  deployment: Omit<Parameters<Caller["deployments"]["upsert"]>[0], "workPoolName">,
) {
  await caller.workPools.create({ name: workPoolName, type: "process" });
  return caller.deployments.upsert({ ...deployment, workPoolName });
}

/** The tRPC error a call failed with (its code and formatted shape), or a failure if it succeeded. */
export async function callError(call: Promise<unknown>): Promise<TRPCError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof TRPCError) return err;
    throw err;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export interface HttpErrorShape {
  message: string;
  code: number;
  data: {
    code: string;
    httpStatus: number;
    path?: string;
    apiCode?: string;
    retryAfterMs?: number | null;
    issues?: { path: string; message: string }[];
  };
}

/**
 * Calls one procedure through tRPC's fetch adapter, so the answer is what a client receives over
 * HTTP: the formatted error (message, data.path, data.retryAfterMs) and the status code.
 */
export async function httpCall(
  services: ApiServices,
  call: {
    path: string;
    type: "query" | "mutation";
    input?: unknown;
    credential: string | null;
    workspaceName?: string;
  },
): Promise<{ status: number; result?: unknown; error?: HttpErrorShape }> {
  const base = `http://localhost/trpc/${call.path}`;
  const url =
    call.type === "query" && call.input !== undefined
      ? `${base}?input=${encodeURIComponent(JSON.stringify(call.input))}`
      : base;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (call.credential) headers.authorization = `Bearer ${call.credential}`;
  const req = new Request(url, {
    method: call.type === "query" ? "GET" : "POST",
    headers,
    ...(call.type === "mutation" ? { body: JSON.stringify(call.input ?? null) } : {}),
  });
  const res = await fetchRequestHandler({
    endpoint: "/trpc",
    req,
    router: appRouter,
    createContext: () => ({ services, credential: call.credential, workspaceName: call.workspaceName ?? null }),
  });
  const body = (await res.json()) as { result?: { data: unknown }; error?: HttpErrorShape };
  return { status: res.status, ...(body.error ? { error: body.error } : { result: body.result?.data }) };
}

export interface SeededWorkspace {
  workspaceId: string;
  workspaceName: string;
  flowId: string;
  flowName: string;
  deploymentId: string;
  /** `FLOW/DEPLOYMENT` */
  deploymentName: string;
  poolName: string;
  queueName: string;
  workerId: string;
  workerName: string;
  /** An ad-hoc run, RUNNING, with task runs, logs and artifacts. */
  flowRunId: string;
  /** A deployment run, SCHEDULED in the pool. */
  scheduledRunId: string;
  /** A sub-flow run whose parent is the first task run. */
  subflowRunId: string;
  taskRunIds: string[];
  logIds: string[];
  artifactIds: string[];
  artifactKey: string;
  apiKeyId: string;
}

/**
 * Gives a workspace one of everything through its own admin key: a pool with an extra queue, a
 * deployment on it with a scheduled run, a worker, a RUNNING ad-hoc run with task runs, states,
 * logs and artifacts, and a sub-flow run. Names start with `prefix` so two workspaces never share one.
 */
export async function seedWorkspace(ws: TestWorkspace, prefix: string): Promise<SeededWorkspace> {
  const api = ws.as.ADMIN;
  const poolName = `${prefix}-pool`;
  const queueName = `${prefix}-queue`;
  const flowName = `${prefix}-flow`;
  await api.workPools.create({ name: poolName, type: "process" });
  await api.workQueues.create({ workPoolName: poolName, name: queueName, priority: 2 });
  const deployment = await api.deployments.upsert({
    flowName,
    name: `${prefix}-deployment`,
    entrypoint: "flows.ts:main",
    workPoolName: poolName,
    workQueueName: queueName,
  });
  const scheduled = await api.deployments.run({
    id: deployment.deploymentId,
    scheduledTime: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const worker = await api.workers.heartbeat({ workPoolName: poolName, workerName: `${prefix}-worker` });
  const run = await api.flowRuns.create({ flowName, state: { type: "RUNNING" } });
  const now = Date.now();
  const taskRunIds = [uuidv7(now), uuidv7(now)];
  const logIds = [uuidv7(now), uuidv7(now)];
  const artifactIds = [uuidv7(now)];
  const artifactKey = `${prefix}-report`;
  const ts = (ms: number) => new Date(now + ms).toISOString();
  await api.ingest.batch({
    taskRuns: taskRunIds.map((id, i) => ({
      id,
      flowRunId: run.id,
      name: `${prefix}-task`,
      taskKey: `${prefix}-task`,
      dynamicKey: String(i),
      tags: [],
      createdAt: ts(0),
    })),
    taskRunStates: taskRunIds.flatMap((id) => [
      { id: uuidv7(now), taskRunId: id, type: "RUNNING" as const, name: "Running", timestamp: ts(1) },
      { id: uuidv7(now), taskRunId: id, type: "COMPLETED" as const, name: "Completed", timestamp: ts(2) },
    ]),
    logs: logIds.map((id, i) => ({
      id,
      flowRunId: run.id,
      taskRunId: taskRunIds[i] ?? null,
      name: "flowplane",
      level: 20,
      message: `${prefix} log ${i}`,
      timestamp: ts(1),
    })),
    artifacts: artifactIds.map((id) => ({
      id,
      flowRunId: run.id,
      taskRunId: taskRunIds[0] ?? null,
      key: artifactKey,
      type: "MARKDOWN" as const,
      data: `# ${prefix}`,
    })),
  });
  const subflow = await api.flowRuns.create({
    flowName: `${prefix}-child`,
    parentTaskRunId: taskRunIds[0]!,
    state: { type: "RUNNING" },
  });
  const flow = await ws.as.ADMIN.flows.list();
  return {
    workspaceId: ws.id,
    workspaceName: ws.name,
    flowId: flow.find((f) => f.name === flowName)!.id,
    flowName,
    deploymentId: deployment.deploymentId,
    deploymentName: `${flowName}/${prefix}-deployment`,
    poolName,
    queueName,
    workerId: worker.workerId,
    workerName: `${prefix}-worker`,
    flowRunId: run.id,
    scheduledRunId: scheduled.id,
    subflowRunId: subflow.id,
    taskRunIds,
    logIds,
    artifactIds,
    artifactKey,
    apiKeyId: ws.keyIds.ADMIN,
  };
}

/**
 * A browser's side of the HTTP exchange: it keeps the cookies the server sets (honouring Max-Age=0)
 * and sends them back, with the CSRF header the dashboard would send. Tests forge or drop either.
 */
export class TestBrowser implements HttpExchange {
  cookies: Record<string, string> = {};
  /** Every Set-Cookie header received, to check its attributes. */
  readonly setCookies: string[] = [];
  csrfToken: string | null = null;
  userAgent = "vitest";
  secure = false;
  constructor(public ip: string | null = "127.0.0.1") {}

  setCookie(header: string): void {
    this.setCookies.push(header);
    const [pair] = header.split(";");
    const eq = pair!.indexOf("=");
    const name = pair!.slice(0, eq);
    if (/Max-Age=0(;|$)/.test(header)) delete this.cookies[name];
    else this.cookies[name] = decodeURIComponent(pair!.slice(eq + 1));
  }
}
