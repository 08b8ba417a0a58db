// Dashboard access tokens: short-lived JWTs signed through the TokenSigner (pinned algorithm,
// issuer, this audience, required expiry, key id). A token speaks either for an API key (pasted into
// the dashboard) or for a person's sign-in (a UserSession held in an httpOnly cookie); either way the
// authenticator re-checks what it names at every use, so revoking the key or the sign-in ends it.
import type { TokenSigner } from "./token-signer.ts";

export const SESSION_AUDIENCE = "flowplane-dashboard";

export type SessionClaims =
  | { kind: "api-key"; apiKeyId: string; workspaceId: string }
  | { kind: "user"; userSessionId: string; workspaceId: string };

export function issueSessionToken(
  signer: TokenSigner,
  claims: SessionClaims,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: Date }> {
  return claims.kind === "api-key"
    ? signer.sign(SESSION_AUDIENCE, claims.apiKeyId, { ws: claims.workspaceId }, ttlSeconds)
    : signer.sign(SESSION_AUDIENCE, claims.userSessionId, { ws: claims.workspaceId, kind: "user" }, ttlSeconds);
}

export type SessionVerification = { ok: true; claims: SessionClaims } | { ok: false; reason: string };

export async function verifySessionToken(signer: TokenSigner, token: string): Promise<SessionVerification> {
  const verified = await signer.verify(token, SESSION_AUDIENCE);
  if (!verified.ok)
    return {
      ok: false,
      reason: verified.reason === "token expired" ? "session token expired" : "invalid session token",
    };
  const { ws, kind, sub } = verified.payload;
  if (typeof ws !== "string") return { ok: false, reason: "malformed session token" };
  if (kind === "user") return { ok: true, claims: { kind: "user", userSessionId: sub, workspaceId: ws } };
  if (kind !== undefined) return { ok: false, reason: "malformed session token" };
  return { ok: true, claims: { kind: "api-key", apiKeyId: sub, workspaceId: ws } };
}

/** Session tokens are JWTs (three base64url parts); API keys start with `fp_`. */
export function looksLikeSessionToken(credential: string): boolean {
  return credential.split(".").length === 3 && !credential.startsWith("fp_");
}
