// An OpenID Connect relying party: the authorisation code flow with PKCE (S256), as a server-side
// ("confidential") client. One sign-in is two steps:
//
//   beginSignIn    -> a URL to send the browser to, and a PendingSignIn (state, nonce, PKCE verifier)
//                     that the caller keeps bound to that browser (sealed in a cookie, pending.ts);
//   completeSignIn <- the provider's redirect back: state must equal the pending one, the code is
//                     exchanged (with the verifier) at the token endpoint, and the ID token is
//                     verified with jose against the provider's JWKS: pinned asymmetric algorithms,
//                     issuer, audience (and azp), expiry, and the nonce.
//
// Every refusal is an OidcError with a closed code, so callers can audit and explain it.
import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

export type OidcErrorCode =
  /** The issuer's discovery document is missing, unreachable or names another issuer. */
  | "DISCOVERY_FAILED"
  /** The callback's state is not the one this browser started with (CSRF, a replayed or mixed-up callback). */
  | "STATE_MISMATCH"
  /** No sign-in was started in this browser, or it took too long. */
  | "NO_PENDING_SIGN_IN"
  /** The provider answered the authorisation request with an error (the person cancelled, ...). */
  | "PROVIDER_ERROR"
  /** The token endpoint refused the code or answered without an ID token. */
  | "TOKEN_EXCHANGE_FAILED"
  /** The ID token's signature, algorithm, issuer, audience or times do not verify. */
  | "INVALID_ID_TOKEN"
  /** The ID token's nonce is not the one this sign-in sent (a replayed or injected token). */
  | "NONCE_MISMATCH";

export class OidcError extends Error {
  override name = "OidcError";
  constructor(
    readonly code: OidcErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The parts of the provider's discovery document this client uses. */
export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  id_token_signing_alg_values_supported?: string[];
  code_challenge_methods_supported?: string[];
}

/**
 * The ID token algorithms accepted, whatever the provider advertises: asymmetric only. `none` is
 * never acceptable, and HS256 would let anyone holding the client secret mint ID tokens.
 */
export const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

/** http:// is accepted for loopback issuers only (development and tests); everything else must be https. */
function assertSecureUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OidcError("DISCOVERY_FAILED", `${what} ${JSON.stringify(value)} is not a URL`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback))
    throw new OidcError("DISCOVERY_FAILED", `${what} ${value} must use https`);
  return url;
}

export interface OidcClientOptions {
  /** Discovery documents and key sets are reused this long (default 10 minutes). */
  cacheTtlMs?: number;
  /** Network timeout for discovery, token and key requests (default 10 s). */
  timeoutMs?: number;
}

/** Provider metadata and JWKS per issuer, shared by every organisation that uses the same provider. */
export class OidcClient {
  private readonly providers = new Map<string, { metadata: ProviderMetadata; jwks: JWTVerifyGetKey; at: number }>();
  private readonly cacheTtlMs: number;
  private readonly timeoutMs: number;

  constructor(options: OidcClientOptions = {}) {
    this.cacheTtlMs = options.cacheTtlMs ?? 600_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The issuer's discovery document (`/.well-known/openid-configuration`), checked. */
  async discover(issuer: string): Promise<{ metadata: ProviderMetadata; jwks: JWTVerifyGetKey }> {
    const cached = this.providers.get(issuer);
    if (cached && Date.now() - cached.at < this.cacheTtlMs) return cached;
    const base = assertSecureUrl(issuer, "issuer");
    const url = new URL(`${base.pathname.replace(/\/$/, "")}/.well-known/openid-configuration`, base);
    let metadata: ProviderMetadata;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: "error" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      metadata = (await res.json()) as ProviderMetadata;
    } catch (err) {
      throw new OidcError("DISCOVERY_FAILED", `cannot read ${url.href}: ${(err as Error).message}`);
    }
    // The document must be the issuer's own (OpenID Connect Discovery 1.0, section 4.3).
    if (metadata.issuer !== issuer)
      throw new OidcError(
        "DISCOVERY_FAILED",
        `${url.href} names issuer ${JSON.stringify(metadata.issuer)}, not ${issuer}`,
      );
    for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
      if (typeof metadata[field] !== "string") throw new OidcError("DISCOVERY_FAILED", `${url.href} has no ${field}`);
      assertSecureUrl(metadata[field], field);
    }
    const methods = metadata.code_challenge_methods_supported;
    if (methods && !methods.includes("S256"))
      throw new OidcError("DISCOVERY_FAILED", `${issuer} does not support PKCE with S256`);
    const entry = {
      metadata,
      jwks: createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: this.timeoutMs }),
      at: Date.now(),
    };
    this.providers.set(issuer, entry);
    return entry;
  }

  /** Starts a sign-in: where to send the browser, and what to keep bound to it until it returns. */
  async beginSignIn(config: RelyingParty): Promise<{ url: string; pending: PendingSignIn }> {
    const { metadata } = await this.discover(config.issuer);
    const pending: PendingSignIn = {
      state: randomToken(),
      nonce: randomToken(),
      codeVerifier: randomToken(),
      startedAt: Date.now(),
    };
    const url = new URL(metadata.authorization_endpoint);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("client_id", config.clientId);
    url.searchParams.set("redirect_uri", config.redirectUri);
    url.searchParams.set("scope", "openid email profile");
    url.searchParams.set("state", pending.state);
    url.searchParams.set("nonce", pending.nonce);
    url.searchParams.set("code_challenge", codeChallenge(pending.codeVerifier));
    url.searchParams.set("code_challenge_method", "S256");
    return { url: url.href, pending };
  }

  /**
   * Finishes a sign-in from the provider's redirect (its query parameters) and the browser's
   * pending sign-in. Returns the verified ID token's claims.
   */
  async completeSignIn(
    config: RelyingParty & { clientSecret: string },
    pending: PendingSignIn,
    callback: URLSearchParams,
  ) {
    // State first: a callback this browser did not start is refused before anything is sent anywhere.
    const state = callback.get("state");
    if (!state || state !== pending.state)
      throw new OidcError("STATE_MISMATCH", "the sign-in's state does not match the one this browser started with");
    const providerError = callback.get("error");
    if (providerError)
      throw new OidcError(
        "PROVIDER_ERROR",
        `the identity provider answered ${providerError}${callback.get("error_description") ? `: ${callback.get("error_description")}` : ""}`,
      );
    const code = callback.get("code");
    if (!code) throw new OidcError("TOKEN_EXCHANGE_FAILED", "the identity provider sent no code");
    // RFC 9207: when the provider names itself in the redirect, it must be the expected issuer (mix-up attacks).
    const iss = callback.get("iss");
    if (iss !== null && iss !== config.issuer)
      throw new OidcError("PROVIDER_ERROR", `the redirect came from issuer ${iss}, not ${config.issuer}`);

    const { metadata, jwks } = await this.discover(config.issuer);
    const idToken = await this.exchangeCode(metadata, config, code, pending.codeVerifier);
    return verifyIdToken(idToken, jwks, {
      issuer: config.issuer,
      audience: config.clientId,
      nonce: pending.nonce,
      algorithms: allowedAlgorithms(metadata),
    });
  }

  private async exchangeCode(
    metadata: ProviderMetadata,
    config: RelyingParty & { clientSecret: string },
    code: string,
    codeVerifier: string,
  ): Promise<string> {
    const body = new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: config.redirectUri,
      code_verifier: codeVerifier,
    });
    // client_secret_basic: both parts form-encoded first (RFC 6749, section 2.3.1).
    const basic = Buffer.from(
      `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`,
    ).toString("base64");
    let answer: { id_token?: unknown; error?: unknown; error_description?: unknown };
    let status: number;
    try {
      const res = await fetch(metadata.token_endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${basic}`,
          accept: "application/json",
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: "error",
      });
      status = res.status;
      answer = (await res.json()) as typeof answer;
    } catch (err) {
      throw new OidcError("TOKEN_EXCHANGE_FAILED", `token endpoint: ${(err as Error).message}`);
    }
    if (status !== 200 || typeof answer.id_token !== "string")
      throw new OidcError(
        "TOKEN_EXCHANGE_FAILED",
        `token endpoint answered ${status}${typeof answer.error === "string" ? ` ${answer.error}` : ""}${typeof answer.error_description === "string" ? `: ${answer.error_description}` : ""}`,
      );
    return answer.id_token;
  }
}

/** What an organisation registered at its provider. */
export interface RelyingParty {
  issuer: string;
  clientId: string;
  /** Where the provider sends the browser back: the server's callback URL, registered at the provider. */
  redirectUri: string;
}

export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  startedAt: number;
}

export interface IdTokenClaims extends JWTPayload {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/** The algorithms to accept for this provider: the ones it advertises among ours (all of ours if it says nothing). */
export function allowedAlgorithms(metadata: Pick<ProviderMetadata, "id_token_signing_alg_values_supported">): string[] {
  const advertised = metadata.id_token_signing_alg_values_supported;
  const allowed = advertised ? ID_TOKEN_ALGORITHMS.filter((a) => advertised.includes(a)) : ID_TOKEN_ALGORITHMS;
  if (allowed.length === 0)
    throw new OidcError(
      "DISCOVERY_FAILED",
      `the provider signs ID tokens only with ${advertised?.join(", ")}; Flowplane accepts ${ID_TOKEN_ALGORITHMS.join(", ")}`,
    );
  return allowed;
}

/** Verifies an ID token (OpenID Connect Core 1.0, section 3.1.3.7). */
export async function verifyIdToken(
  idToken: string,
  jwks: JWTVerifyGetKey,
  expected: { issuer: string; audience: string; nonce: string; algorithms: string[]; clockToleranceSeconds?: number },
): Promise<IdTokenClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, jwks, {
      issuer: expected.issuer,
      audience: expected.audience,
      algorithms: expected.algorithms,
      clockTolerance: expected.clockToleranceSeconds ?? 60,
      requiredClaims: ["sub", "exp", "iat"],
      maxTokenAge: "1h",
    }));
  } catch (err) {
    const reason =
      err instanceof joseErrors.JWTClaimValidationFailed
        ? `its ${err.claim} claim ${err.reason === "check_failed" ? "is not the expected one" : "is missing or invalid"}`
        : err instanceof joseErrors.JWSSignatureVerificationFailed
          ? "its signature does not verify"
          : err instanceof joseErrors.JOSEAlgNotAllowed
            ? `its algorithm is not one of ${expected.algorithms.join(", ")}`
            : (err as Error).message;
    throw new OidcError("INVALID_ID_TOKEN", `the ID token was refused: ${reason}`);
  }
  // Several audiences: the token must have been issued to us (azp), not merely mention us.
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload["azp"] !== expected.audience)
    throw new OidcError("INVALID_ID_TOKEN", "the ID token was refused: it was issued to another client (azp)");
  if (payload["nonce"] !== expected.nonce)
    throw new OidcError("NONCE_MISMATCH", "the ID token's nonce is not the one this sign-in sent");
  return payload as IdTokenClaims;
}

function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

/** RFC 7636, section 4.2: BASE64URL(SHA256(verifier)). */
export function codeChallenge(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}
