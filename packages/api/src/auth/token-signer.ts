// One way to sign and verify every kind of token the control plane issues (dashboard sessions
// today; per-run tokens next). HS256 with the server's signing keys, the key id in the header
// (`kid`) so a rotated-out key keeps verifying the tokens it signed until they expire. Everything a
// verifier must not take from the token itself is pinned here: the algorithm, the issuer, the
// audience the caller names (one per token kind, so a session can never pass as a run token), and
// a required expiry no later than the longest lifetime any token may have.
import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from "jose";

export const TOKEN_ISSUER = "flowplane";
const ALGORITHM = "HS256";

export interface SigningKey {
  kid: string;
  secret: Uint8Array;
}

/** The key that signs now and every key that still verifies (including the current one). */
export interface SigningKeySet {
  current: SigningKey;
  verifying: ReadonlyMap<string, Uint8Array>;
}

export interface TokenSignerOptions {
  /** No token is signed for longer; retired keys are kept at least this long (see signing-keys.ts). */
  maxTtlSeconds: number;
  /** How long the key set is used before it is re-read, so a rotation on another replica is picked up. */
  refreshMs?: number;
  /**
   * A token naming an unknown `kid` re-reads the key set (another replica may have rotated), but at
   * most this often: forged kids must not turn into a database query each.
   */
  unknownKidRefreshMs?: number;
  /** Keys already read (at start, where a failure must stop the server), used until the first refresh. */
  initialKeys?: SigningKeySet;
}

export type TokenVerification = { ok: true; payload: JWTPayload & { sub: string } } | { ok: false; reason: string };

export class TokenSigner {
  private keys: SigningKeySet | null = null;
  private loadedAt = 0;
  private loading: Promise<SigningKeySet> | null = null;
  private unknownKidRefreshAt = 0;
  readonly maxTtlSeconds: number;
  private readonly refreshMs: number;
  private readonly unknownKidRefreshMs: number;

  constructor(
    private readonly loadKeys: () => Promise<SigningKeySet>,
    options: TokenSignerOptions,
  ) {
    this.maxTtlSeconds = options.maxTtlSeconds;
    this.refreshMs = options.refreshMs ?? 60_000;
    this.unknownKidRefreshMs = options.unknownKidRefreshMs ?? 1_000;
    if (options.initialKeys) {
      this.keys = options.initialKeys;
      this.loadedAt = Date.now();
    }
  }

  /**
   * Signs `claims` for `audience` with the current key. `subject` is who the token speaks for (an
   * API key id, a flow run id); `ttlSeconds` is capped by `maxTtlSeconds`.
   */
  async sign(
    audience: string,
    subject: string,
    claims: Record<string, unknown>,
    ttlSeconds: number,
  ): Promise<{ token: string; expiresAt: Date }> {
    if (!(ttlSeconds > 0 && ttlSeconds <= this.maxTtlSeconds))
      throw new Error(`token lifetime must be between 1 and ${this.maxTtlSeconds} seconds, got ${ttlSeconds}`);
    const { current } = await this.keySet(this.refreshMs);
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT", kid: current.kid })
      .setSubject(subject)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(current.secret);
    return { token, expiresAt };
  }

  async verify(token: string, audience: string): Promise<TokenVerification> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          if (typeof header.kid !== "string") throw new joseErrors.JWSInvalid("token has no key id");
          const secret = (await this.keySet(this.refreshMs)).verifying.get(header.kid);
          if (secret) return secret;
          if (Date.now() - this.unknownKidRefreshAt < this.unknownKidRefreshMs)
            throw new joseErrors.JWKSNoMatchingKey();
          this.unknownKidRefreshAt = Date.now();
          const reread = (await this.keySet(0)).verifying.get(header.kid);
          if (!reread) throw new joseErrors.JWKSNoMatchingKey();
          return reread;
        },
        { algorithms: [ALGORITHM], issuer: TOKEN_ISSUER, audience, requiredClaims: ["exp", "sub", "iat"] },
      );
      if (!payload.sub) return { ok: false, reason: "invalid token" };
      // A token whose lifetime exceeds what we ever sign was not signed by us as it reads.
      if (payload.exp! - payload.iat! > this.maxTtlSeconds) return { ok: false, reason: "invalid token" };
      return { ok: true, payload: payload as JWTPayload & { sub: string } };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: "token expired" };
      return { ok: false, reason: "invalid token" };
    }
  }

  /** Forget the cached key set, e.g. right after a rotation on this replica. */
  invalidate(): void {
    this.loadedAt = 0;
  }

  private keySet(maxAgeMs: number): Promise<SigningKeySet> {
    if (this.keys && Date.now() - this.loadedAt < maxAgeMs) return Promise.resolve(this.keys);
    this.loading ??= this.loadKeys()
      .then((keys) => {
        this.keys = keys;
        this.loadedAt = Date.now();
        return keys;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }
}
