// How a call through the API becomes an audit entry (the tRPC middleware in trpc.ts calls this
// after every mutation, refused or not).
import type { TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import { parseApiKey } from "../../auth/api-keys.ts";
import type { Principal } from "../../auth/authenticator.ts";
import { ApiError } from "../../errors.ts";
import type { AuditActor, AuditOutcome, AuditRecorder } from "./recorder.ts";
import { auditTarget, resultId } from "./target.ts";

/**
 * The worker runtime's mutations: each run makes several per second (claims are polls, states,
 * heartbeats, log and task-run batches). Their successes are summed per flush (see recorder.ts);
 * their refusals are recorded one by one like everything else. A test checks every name here is a
 * procedure, so a rename cannot silently move a hot path into per-call rows.
 */
export const SUMMARISED_ACTIONS: ReadonlySet<string> = new Set([
  "workers.poll",
  "workers.heartbeat",
  "workers.reportInfrastructure",
  "workers.extendClaim",
  "flowRuns.create",
  "flowRuns.setState",
  "flowRuns.setStates",
  "flowRuns.setRetryPolicy",
  "flowRuns.heartbeat",
  "taskRuns.setState",
  "ingest.batch",
]);

/** Refusals that come in floods (a client over its rate limit, a script with a wrong key): summed too. */
const SUMMARISED_REFUSALS: ReadonlySet<string> = new Set(["RATE_LIMITED", "UNAUTHENTICATED"]);

/** The request's origin as the HTTP server saw it. */
export interface RequestClient {
  ip: string | null;
  userAgent: string | null;
}

/** Filled in by the authentication middleware, read by the audit middleware after the call. */
export interface AuditSlot {
  principal: Principal | null;
  /** Who a public procedure found the caller to be (a person signing in), when there is no principal. */
  actor?: AuditActor;
  /**
   * What the call acted on that its input's top-level fields do not name (secrets.resolveForDeploy:
   * the secret names inside its steps). Filtered by the same allowlist as the input (target.ts).
   */
  target?: Record<string, unknown>;
}

/** A person, named by their email. */
export function userActor(userId: string, email: string): AuditActor {
  return { type: "user", id: userId, name: email.toLowerCase(), apiKeyId: null, apiKeyPrefix: null };
}

export function actorOf(principal: Principal | null, credential: string | null): AuditActor {
  if (!principal)
    return {
      type: "anonymous",
      id: null,
      name: null,
      apiKeyId: null,
      apiKeyPrefix: credential ? (parseApiKey(credential)?.prefix ?? null) : null,
    };
  const actor = principal.actor;
  return {
    type: actor.type,
    id: actor.id,
    name: actor.type === "user" ? actor.email : actor.name,
    apiKeyId: principal.apiKeyId,
    apiKeyPrefix: null,
  };
}

export function classify(error: TRPCError | undefined): { outcome: AuditOutcome; errorCode: string | null } {
  if (!error) return { outcome: "ok", errorCode: null };
  if (error instanceof ApiError) return { outcome: "refused", errorCode: error.apiCode };
  if (error.cause instanceof ZodError) return { outcome: "refused", errorCode: "INVALID_INPUT" };
  if (error.code === "INTERNAL_SERVER_ERROR") return { outcome: "failed", errorCode: "INTERNAL" };
  // tRPC's own refusals (payload too large, a mutation sent as a query, a timeout).
  return { outcome: "refused", errorCode: error.code };
}

export async function recordProcedureCall(
  recorder: AuditRecorder,
  call: {
    path: string;
    slot: AuditSlot;
    credential: string | null;
    client: RequestClient | undefined;
    getRawInput: () => Promise<unknown>;
    result: { ok: true; data: unknown } | { ok: false; error: TRPCError };
  },
): Promise<void> {
  const { outcome, errorCode } = classify(call.result.ok ? undefined : call.result.error);
  const principal = call.slot.principal;
  const entry = {
    workspaceId: principal?.workspaceId ?? null,
    actor: call.slot.actor ?? actorOf(principal, call.credential),
    action: call.path,
    outcome,
    errorCode,
    ip: call.client?.ip ?? null,
    userAgent: call.client?.userAgent ?? null,
  };
  if (outcome === "ok" && SUMMARISED_ACTIONS.has(call.path)) {
    recorder.count({ ...entry, target: null });
    return;
  }
  // The raw input was parsed once already; this returns the same value. A body that could not be
  // parsed at all throws here, and is then recorded without a target.
  const raw = await call.getRawInput().catch(() => undefined);
  let target = auditTarget(raw);
  const named = call.slot.target ? auditTarget(call.slot.target) : null;
  if (named) target = { ...target, ...named };
  const created = call.result.ok ? resultId(call.result.data) : null;
  if (created && !target?.["id"]) target = { ...target, id: created };
  // A key presented in the input (signing in with a key) names the actor when nothing else does.
  const presented = target?.["apiKeyPrefix"];
  if (!entry.actor.apiKeyPrefix && !entry.actor.apiKeyId && typeof presented === "string")
    entry.actor.apiKeyPrefix = presented;
  // Sign-in attempts are always kept one by one; other floods of refusals are summed.
  if (!call.path.startsWith("auth.") && SUMMARISED_REFUSALS.has(errorCode ?? ""))
    recorder.count({ ...entry, target: null });
  else recorder.record({ ...entry, target });
}
