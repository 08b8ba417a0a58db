// Dashboard sessions: short-lived HS256 JWTs (jose) issued in exchange for an API key. Verification
// pins the algorithm, issuer and audience and requires an expiry, so `alg: none`, tokens from
// another issuer and tokens without `exp` are all rejected.
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import type { ApiKeyScope } from "./api-keys.ts";

const ISSUER = "flowplane";
const AUDIENCE = "flowplane-dashboard";
const ALGORITHM = "HS256";

export interface SessionClaims {
  apiKeyId: string;
  workspaceId: string;
  scope: ApiKeyScope;
}

export async function issueSessionToken(
  secret: Uint8Array,
  claims: SessionClaims,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: Date }> {
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const token = await new SignJWT({ ws: claims.workspaceId, scope: claims.scope })
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
    .setSubject(claims.apiKeyId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(secret);
  return { token, expiresAt };
}

export type SessionVerification = { ok: true; claims: SessionClaims } | { ok: false; reason: string };

export async function verifySessionToken(secret: Uint8Array, token: string): Promise<SessionVerification> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ["exp", "sub", "iat"],
    });
    const ws = payload["ws"];
    const scope = payload["scope"];
    if (typeof ws !== "string" || typeof scope !== "string" || !payload.sub)
      return { ok: false, reason: "malformed session token" };
    return { ok: true, claims: { apiKeyId: payload.sub, workspaceId: ws, scope: scope as ApiKeyScope } };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: "session token expired" };
    return { ok: false, reason: "invalid session token" };
  }
}

/** Session tokens are JWTs (three base64url parts); API keys start with `fp_`. */
export function looksLikeSessionToken(credential: string): boolean {
  return credential.split(".").length === 3 && !credential.startsWith("fp_");
}
