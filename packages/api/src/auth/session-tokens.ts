// Dashboard sessions: short-lived tokens issued in exchange for an API key, signed through the
// TokenSigner (pinned algorithm, issuer, this audience, required expiry, key id).
import type { ApiKeyScope } from "./api-keys.ts";
import type { TokenSigner } from "./token-signer.ts";

export const SESSION_AUDIENCE = "flowplane-dashboard";

export interface SessionClaims {
  apiKeyId: string;
  workspaceId: string;
  scope: ApiKeyScope;
}

export function issueSessionToken(
  signer: TokenSigner,
  claims: SessionClaims,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: Date }> {
  return signer.sign(SESSION_AUDIENCE, claims.apiKeyId, { ws: claims.workspaceId, scope: claims.scope }, ttlSeconds);
}

export type SessionVerification = { ok: true; claims: SessionClaims } | { ok: false; reason: string };

export async function verifySessionToken(signer: TokenSigner, token: string): Promise<SessionVerification> {
  const verified = await signer.verify(token, SESSION_AUDIENCE);
  if (!verified.ok)
    return {
      ok: false,
      reason: verified.reason === "token expired" ? "session token expired" : "invalid session token",
    };
  const { ws, scope, sub } = verified.payload;
  if (typeof ws !== "string" || typeof scope !== "string") return { ok: false, reason: "malformed session token" };
  return { ok: true, claims: { apiKeyId: sub, workspaceId: ws, scope: scope as ApiKeyScope } };
}

/** Session tokens are JWTs (three base64url parts); API keys start with `fp_`. */
export function looksLikeSessionToken(credential: string): boolean {
  return credential.split(".").length === 3 && !credential.startsWith("fp_");
}
