// tRPC setup: the request context and the procedure tiers. Each tier narrows the context, so a
// procedure's code can only reach what its callers are allowed to: `ctx.workspaceId` exists only
// behind authentication, and scope checks happen here rather than in each router.
import { initTRPC } from "@trpc/server";
import { ZodError } from "zod";
import type { Database } from "@flowplane/db";
import { ApiError } from "./errors.ts";
import { scopeAllows, type ApiKeyScope } from "./auth/api-keys.ts";
import type { Authenticator, Principal, RunScope } from "./auth/authenticator.ts";
import type { FairScheduler } from "./auth/fair-scheduler.ts";
import type { RateLimiter } from "./auth/rate-limiter.ts";
import type { TokenSigner } from "./auth/token-signer.ts";
import type { MasterKeyring } from "./crypto/envelope.ts";
import type { OidcClient } from "./auth/oidc/client.ts";
import { recordProcedureCall, type AuditSlot, type RequestClient } from "./services/audit/procedure-calls.ts";
import { DEFAULT_SCRYPT_COST } from "./auth/passwords.ts";
import type { Mailer } from "./services/mailer.ts";
import type { EventBus } from "./services/events.ts";
import type { Resources } from "./services/resources.ts";

export interface ApiConfig {
  /** A claimed run that has not reported RUNNING by then goes back to SCHEDULED. */
  claimTimeoutSeconds: number;
  /** Workers may claim runs due this far in the future (their RUNNING proposal waits). */
  prefetchSeconds: number;
  sessionTtlSeconds: number;
  /** No token (session, run) is signed for longer; retired signing keys verify at least this long. */
  maxTokenTtlSeconds: number;
  /** Upper bound of a worker's long-poll. */
  longPollMaxMs: number;
  /**
   * A RUNNING run silent this long is crashed (liveness). Runs are told to heartbeat at a fraction
   * of it with their claim (runHeartbeatIntervalSeconds), so the two cannot disagree.
   */
  runHeartbeatTimeoutSeconds: number;
  /** Log and state messages longer than this are stored truncated, with a marker. */
  maxLogMessageChars: number;
  /** A person's dashboard sign-in lasts this long (sign-out, removal or a password reset end it sooner). */
  userSessionTtlSeconds: number;
  /** Failed sign-ins in a row that lock an account, and for how long. */
  loginMaxFailures: number;
  loginLockoutSeconds: number;
  /** Failed sign-ins from one IP address within the window that lock that address out for the window. */
  loginIpMaxFailures: number;
  loginIpWindowSeconds: number;
  invitationTtlSeconds: number;
  passwordResetTtlSeconds: number;
  deviceCodeTtlSeconds: number;
  /** scrypt cost (N) for new password hashes. */
  scryptCost: number;
  /**
   * The dashboard's address as people reach it, for links in mails and in answers (invitations,
   * password resets, the CLI's device sign-in); null until the server knows it.
   */
  publicUrl: string | null;
  /**
   * Lifetime of a run token (the credential a flow run gets instead of its worker's key). Runs
   * renew theirs at half-life while their attempt holds the claim; capped by maxTokenTtlSeconds.
   */
  runTokenTtlSeconds: number;
}

export const defaultApiConfig: ApiConfig = {
  claimTimeoutSeconds: 300,
  prefetchSeconds: 10,
  sessionTtlSeconds: 3600,
  maxTokenTtlSeconds: 86_400,
  longPollMaxMs: 30_000,
  runHeartbeatTimeoutSeconds: 90,
  maxLogMessageChars: 64 * 1024,
  userSessionTtlSeconds: 7 * 86_400,
  loginMaxFailures: 5,
  loginLockoutSeconds: 900,
  loginIpMaxFailures: 30,
  loginIpWindowSeconds: 900,
  invitationTtlSeconds: 7 * 86_400,
  passwordResetTtlSeconds: 3600,
  deviceCodeTtlSeconds: 600,
  scryptCost: DEFAULT_SCRYPT_COST,
  publicUrl: null,
  runTokenTtlSeconds: 900,
};

/**
 * Heartbeats per run heartbeat timeout. Six means a run survives five lost heartbeats in a row
 * (a slow network, a long garbage collection) before it is crashed.
 */
export const RUN_HEARTBEATS_PER_TIMEOUT = 6;

/** The heartbeat interval the server asks of runs for a timeout (seconds, may be fractional). */
export function runHeartbeatIntervalSeconds(timeoutSeconds: number): number {
  return Math.round((timeoutSeconds / RUN_HEARTBEATS_PER_TIMEOUT) * 1000) / 1000;
}

export interface ApiServices {
  db: Database;
  /** What the services share: database handles, the event publisher, the hot path's caches. */
  resources: Resources;
  events: EventBus;
  authenticator: Authenticator;
  rateLimiter: RateLimiter | null;
  /** Signs and verifies every token the server issues (see auth/token-signer.ts). */
  tokens: TokenSigner;
  /** Seals and opens everything kept secret at rest (see crypto/envelope.ts). */
  masterKeys: MasterKeyring;
  /** Single sign-on's OpenID Connect client (provider metadata and keys cached per issuer). */
  oidc: OidcClient;
  /** Shares request slots between workspaces in turn; null runs every request at once. */
  scheduler: FairScheduler | null;
  /** Sends invitations and password resets; null without SMTP (the links are shown to admins instead). */
  mailer: Mailer | null;
  config: ApiConfig;
}

/**
 * The resources as procedures see them: handed whole to service functions, never queried. Typing
 * the database handles `never` makes the compiler refuse any use of them in a router (a query, a
 * destructured `prisma`, `resources["pool"]`), while the object stays assignable to the services'
 * parameters (`never` is assignable to every type).
 */
export type SealedResources = Omit<Resources, "prisma" | "pool"> & { readonly prisma: never; readonly pool: never };

/** What procedures see of the services: no database handle to query directly. */
export type RouterServices = Omit<ApiServices, "db" | "resources"> & { resources: SealedResources };

/** The context every procedure sees (before the tiers add the caller). */
export type ProcedureContext = Omit<Context, "services"> & { services: RouterServices };

export interface Context {
  services: ApiServices;
  /** Bearer credential from the request, if any. */
  credential: string | null;
  /** Workspace the client says it means (header `x-flowplane-workspace`), checked against the key. */
  workspaceName: string | null;
  /** The caller's address and user agent, for the audit log (absent for in-process callers). */
  client?: RequestClient;
  signal?: AbortSignal;
  /** The HTTP side of the request, where there is one (the dashboard's sign-in cookies). */
  http?: HttpExchange;
}

/** Cookies in and out and who is asking, for the procedures that sign people in and out. */
export interface HttpExchange {
  cookies: Readonly<Record<string, string>>;
  /** The `x-flowplane-csrf` header: cookie-authenticated calls must echo their session's CSRF token. */
  csrfToken: string | null;
  /** Served over TLS: cookies are marked Secure. */
  secure: boolean;
  setCookie(header: string): void;
}

export interface ProcedureMeta {
  /**
   * The procedure spends most of its time waiting for events (a long-poll), not working: it takes no
   * request slot, or idle workers would hold every slot. Its work is bounded by the rate limit.
   */
  waitsForEvents?: boolean;
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    // Never in development mode: that mode puts the server's stack trace into every error response.
    isDev: false,
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      if (cause instanceof ZodError) {
        const issue = cause.issues[0];
        const path = issue?.path.join(".") ?? "";
        return {
          ...shape,
          message: issue ? `${path || "input"}: ${issue.message}` : shape.message,
          data: {
            ...shape.data,
            apiCode: "INVALID_INPUT",
            path,
            issues: cause.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
          },
        };
      }
      if (error instanceof ApiError) {
        return {
          ...shape,
          data: {
            ...shape.data,
            apiCode: error.apiCode,
            path: error.path ?? null,
            retryAfterMs: error.retryAfterMs ?? null,
          },
        };
      }
      // An unexpected failure's message can carry SQL, file paths or library internals; the server
      // log has it (see the HTTP server's onError), the client gets a fixed sentence.
      if (error.code === "INTERNAL_SERVER_ERROR") return { ...shape, message: "internal server error" };
      return shape;
    },
  });

export const router = t.router;
export const mergeRouters = t.mergeRouters;
export const createCallerFactory = t.createCallerFactory;

/**
 * Every mutation, whatever its outcome (refusals included), is appended to the audit log; the
 * tiers below fill in `ctx.audit.principal` once they know the caller. Recording is in memory
 * (the recorder writes in batches), so it adds no round trip.
 */
export const publicProcedure = t.procedure.use(async ({ ctx, next, type, path, getRawInput }) => {
  const audit: AuditSlot = { principal: null };
  // Procedures see the services without the raw database: routers translate and authorise, and
  // reach the database only through service functions (which take `services.resources`).
  const { db: _db, ...services } = ctx.services;
  const result = await next({ ctx: { audit, services: services as RouterServices } });
  if (type === "mutation")
    void recordProcedureCall(ctx.services.resources.audit, {
      path,
      slot: audit,
      credential: ctx.credential,
      client: ctx.client,
      getRawInput,
      result,
    });
  return result;
});

export const authedProcedure = publicProcedure.use(async ({ ctx, next, type, meta }) => {
  const auth = await ctx.services.authenticator.authenticate(ctx.credential);
  if (!auth.ok) throw new ApiError("UNAUTHENTICATED", auth.reason);
  const principal: Principal = auth.principal;
  ctx.audit.principal = principal;
  if (ctx.workspaceName && ctx.workspaceName !== principal.workspaceName) {
    throw new ApiError(
      "FORBIDDEN",
      `this ${principal.via === "session" ? "session" : "API key"} belongs to workspace "${principal.workspaceName}", not "${ctx.workspaceName}"`,
      { path: "workspace" },
    );
  }
  const limiter = ctx.services.rateLimiter;
  if (limiter) {
    const decision = limiter.take(principal.apiKeyId ?? principal.userSessionId ?? principal.actor.id);
    if (!decision.allowed) {
      throw new ApiError("RATE_LIMITED", `rate limit exceeded; retry in ${decision.retryAfterMs} ms`, {
        retryAfterMs: decision.retryAfterMs,
      });
    }
  }
  const proceed = () =>
    next({
      ctx: {
        ...ctx,
        principal,
        workspaceId: principal.workspaceId,
      },
    });
  const scheduler = ctx.services.scheduler;
  if (!scheduler || type === "subscription" || meta?.waitsForEvents) return proceed();
  return scheduler.run(principal.workspaceId, proceed);
});

/** What a run token may do, for the refusal of everything else. */
const RUN_TOKEN_RIGHTS =
  "a run token may act only on its own flow run: its states, heartbeats, task runs, logs, artifacts, " +
  "its sub-flow runs, its secrets and variables";

/**
 * A tier: keys (and sessions) of at least `needed` scope, and run tokens when `runTokens` is
 * "own run". Run tokens are refused by every tier that does not say so, so a procedure added
 * later is closed to them until someone decides otherwise. Tiers open to run tokens put the
 * token's run in `ctx.runScope` (null for keys); the routers pass it to the services, whose
 * queries refuse any other run (see run-state/fence.ts).
 */
function requireScope(needed: ApiKeyScope, runTokens: "refused" | "own run" = "refused") {
  return authedProcedure.use(({ ctx, next, path }) => {
    const run = ctx.principal.run;
    if (ctx.principal.via === "run" && run) {
      if (runTokens === "refused") throw new ApiError("FORBIDDEN", `${RUN_TOKEN_RIGHTS}; ${path} is not one of those`);
      return next({ ctx: { runScope: run as RunScope | null } });
    }
    if (!scopeAllows(ctx.principal.scope, needed)) {
      throw new ApiError(
        "FORBIDDEN",
        `this needs a ${needed.toLowerCase()} key; yours is ${ctx.principal.scope.toLowerCase()}`,
      );
    }
    return next({ ctx: { runScope: null as RunScope | null } });
  });
}

/** Any valid key: reads. */
export const readProcedure = requireScope("READ");
/** Workers: registration, claims, infrastructure reports. */
export const workerProcedure = requireScope("WORKER");
/** People and CI: deployments, pools, runs. */
export const developerProcedure = requireScope("DEVELOPER");
/** Keys and workspaces. */
export const adminProcedure = requireScope("ADMIN");
/** Reads a run makes of itself (its parameters, variables), and any valid key's reads. */
export const runReadProcedure = requireScope("READ", "own run");
/** What a running flow reports (states, heartbeats, task runs, logs, sub-flow runs): worker keys and run tokens. */
export const runWriteProcedure = requireScope("WORKER", "own run");

/** Run tokens only: what a run does with its own credential (renewing it). */
export const runTokenProcedure = requireScope("READ", "own run").use(({ ctx, next }) => {
  if (!ctx.runScope)
    throw new ApiError("FORBIDDEN", "only a run token may call this; API keys and sessions are not run tokens");
  return next({ ctx: { runScope: ctx.runScope } });
});

/**
 * What runs need at run time and people must never get: secret values. A run token, for its own
 * run (`ctx.runScope`), or a worker key for the runs whose claim it holds (the fence), never a
 * person's key or session whatever its scope.
 */
export const runtimeProcedure = requireScope("WORKER", "own run").use(({ ctx, next }) => {
  if (ctx.principal.via === "run") return next();
  if (ctx.principal.scope !== "WORKER" || ctx.principal.via !== "api-key")
    throw new ApiError(
      "FORBIDDEN",
      `secret values are only given to flow runs and workers (a run token or a worker key); yours is a ${ctx.principal.scope.toLowerCase()} ${ctx.principal.via === "session" ? "session" : "key"}`,
    );
  return next();
});

/**
 * Awaits a change to who may do what (a role, a member, a key, a password), then empties the
 * authenticator's cache so the change holds at once on this replica instead of after its TTL.
 */
export async function changingAccess<T>(
  ctx: { services: Pick<RouterServices, "authenticator"> },
  change: Promise<T>,
): Promise<T> {
  const result = await change;
  ctx.services.authenticator.invalidate();
  return result;
}
