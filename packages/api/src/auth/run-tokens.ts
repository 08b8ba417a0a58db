// Run tokens: the credential a worker hands to each flow run it launches, instead of its own key
// (issue 13.4). One token per claimed attempt, signed through the TokenSigner (pinned algorithm,
// issuer, this audience, required expiry, key id) and bound to the run, its workspace and the
// attempt's claim token. What it may do is decided by the procedure tiers (trpc.ts): only what
// concerns its own run and the sub-flow runs that attempt created. Verifying one reads nothing
// from the database; whether the attempt is still the run's current one is checked by the claim
// fence on every write (run-state/fence.ts), as for a worker's own writes.
//
// Tokens are short-lived (ApiConfig.runTokenTtlSeconds) and renewed by the run while its attempt
// still holds the claim (auth.renewRunToken), so a run can last hours while a leaked token is
// worth little: it dies with the attempt, or within one lifetime at most.
import type { Actor, Principal } from "./authenticator.ts";
import { requireApiKey } from "./principal.ts";
import type { TokenSigner } from "./token-signer.ts";

export const RUN_TOKEN_AUDIENCE = "flowplane-run";
/**
 * Run tokens carry a prefix, so the authenticator tells them from session tokens without trying
 * both audiences, and secret scanners (and people) can recognise one in a log.
 */
export const RUN_TOKEN_PREFIX = "fpr_";

export interface RunTokenClaims {
  flowRunId: string;
  /** The attempt: the claim token the worker received with the claim. */
  claimToken: string;
  workspaceId: string;
  workspaceName: string;
  organizationId: string;
  /** The worker key the token was issued to (its runs share that key's rate limit, and audit names it). */
  apiKeyId: string;
  /** Who that key belongs to (a worker's service account, usually): the run acts for them. */
  actor: Actor;
}

/** The claims of a run token issued by (or renewed for) `principal`, for attempt `attempt`. */
export function runTokenClaimsFor(
  principal: Principal,
  attempt: { flowRunId: string; claimToken: string },
): RunTokenClaims {
  return {
    ...attempt,
    workspaceId: principal.workspaceId,
    workspaceName: principal.workspaceName,
    organizationId: principal.organizationId,
    apiKeyId: requireApiKey(principal, "a run token"),
    actor: principal.actor,
  };
}

export function looksLikeRunToken(credential: string): boolean {
  return credential.startsWith(RUN_TOKEN_PREFIX);
}

export async function issueRunToken(
  signer: TokenSigner,
  claims: RunTokenClaims,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: string }> {
  const { token, expiresAt } = await signer.sign(
    RUN_TOKEN_AUDIENCE,
    claims.flowRunId,
    {
      att: claims.claimToken,
      ws: claims.workspaceId,
      wsn: claims.workspaceName,
      org: claims.organizationId,
      key: claims.apiKeyId,
      act: claims.actor,
    },
    Math.min(ttlSeconds, signer.maxTtlSeconds),
  );
  return { token: RUN_TOKEN_PREFIX + token, expiresAt: expiresAt.toISOString() };
}

export type RunTokenVerification =
  { ok: true; claims: RunTokenClaims; expiresAt: Date } | { ok: false; reason: string };

export async function verifyRunToken(signer: TokenSigner, credential: string): Promise<RunTokenVerification> {
  const verified = await signer.verify(credential.slice(RUN_TOKEN_PREFIX.length), RUN_TOKEN_AUDIENCE);
  if (!verified.ok)
    return { ok: false, reason: verified.reason === "token expired" ? "run token expired" : "invalid run token" };
  const { sub, att, ws, wsn, org, key, act, exp } = verified.payload;
  if (
    typeof att !== "string" ||
    typeof ws !== "string" ||
    typeof wsn !== "string" ||
    typeof org !== "string" ||
    typeof key !== "string" ||
    typeof act !== "object" ||
    act === null
  )
    return { ok: false, reason: "malformed run token" };
  return {
    ok: true,
    claims: {
      flowRunId: sub,
      claimToken: att,
      workspaceId: ws,
      workspaceName: wsn,
      organizationId: org,
      apiKeyId: key,
      actor: act as Actor,
    },
    expiresAt: new Date(exp! * 1000),
  };
}
