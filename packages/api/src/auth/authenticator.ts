// Resolves a bearer credential (API key or dashboard session token) to the calling principal.
// Verified keys are cached briefly so hot paths (claims, state proposals) skip the lookup; the
// cache TTL bounds how long a revoked key keeps working on a replica (default 5 s).
import type { Db } from "@flowplane/db";
import { keyMatchesHash, parseApiKey, type ApiKeyScope } from "./api-keys.ts";
import { looksLikeSessionToken, verifySessionToken } from "./session-tokens.ts";
import type { TokenSigner } from "./token-signer.ts";

export interface Principal {
  apiKeyId: string;
  workspaceId: string;
  workspaceName: string;
  scope: ApiKeyScope;
  via: "api-key" | "session";
}

export type Authentication = { ok: true; principal: Principal } | { ok: false; reason: string };

interface CachedKey {
  principal: Principal | null;
  reason: string;
  expiresAt: Date | null;
  cachedAt: number;
}

export interface AuthenticatorOptions {
  cacheTtlMs?: number;
  /** How often lastUsedAt is written per key at most. */
  lastUsedResolutionMs?: number;
}

export class Authenticator {
  private readonly byKey = new Map<string, CachedKey>();
  private readonly byKeyId = new Map<string, CachedKey>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly cacheTtlMs: number;
  private readonly lastUsedResolutionMs: number;

  constructor(
    private readonly db: Db,
    private readonly tokens: TokenSigner,
    options: AuthenticatorOptions = {},
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? 5_000;
    this.lastUsedResolutionMs = options.lastUsedResolutionMs ?? 60_000;
  }

  async authenticate(credential: string | undefined | null): Promise<Authentication> {
    if (!credential)
      return { ok: false, reason: "missing credentials: send `Authorization: Bearer <api key or session token>`" };
    if (looksLikeSessionToken(credential)) {
      const verified = await verifySessionToken(this.tokens, credential);
      if (!verified.ok) return verified;
      // The key behind a session must still be valid: revoking a key ends its sessions.
      const key = await this.loadKey({ id: verified.claims.apiKeyId });
      if (!key.principal) return { ok: false, reason: key.reason };
      // The cached entry may predate the key's expiry; a session must not outlive its key.
      if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return { ok: false, reason: "API key expired" };
      if (key.principal.workspaceId !== verified.claims.workspaceId)
        return { ok: false, reason: "invalid session token" };
      return { ok: true, principal: { ...key.principal, via: "session" } };
    }
    const parsed = parseApiKey(credential);
    if (!parsed) return { ok: false, reason: "malformed API key" };
    const cached = this.byKey.get(credential);
    const entry =
      cached && Date.now() - cached.cachedAt < this.cacheTtlMs
        ? cached
        : await this.loadKey({ prefix: parsed.prefix, key: credential });
    if (!entry.principal) return { ok: false, reason: entry.reason };
    if (entry.expiresAt && entry.expiresAt.getTime() <= Date.now()) return { ok: false, reason: "API key expired" };
    this.touch(entry.principal.apiKeyId);
    return { ok: true, principal: entry.principal };
  }

  /** Forget cached keys, e.g. right after a revocation on this replica. */
  invalidate(): void {
    this.byKey.clear();
    this.byKeyId.clear();
  }

  private async loadKey(by: { id: string } | { prefix: string; key: string }): Promise<CachedKey> {
    if ("id" in by) {
      const hit = this.byKeyId.get(by.id);
      if (hit && Date.now() - hit.cachedAt < this.cacheTtlMs) return hit;
    }
    const row = await this.db.apiKey.findFirst({
      where: "id" in by ? { id: by.id } : { prefix: by.prefix },
      select: {
        id: true,
        secretHash: true,
        scope: true,
        expiresAt: true,
        revokedAt: true,
        workspaceId: true,
        workspace: { select: { name: true } },
      },
    });
    // Only credentials that matched a stored key are cached: anyone can send endless well-formed
    // forgeries, and caching each would grow this map without bound.
    if (!row || ("key" in by && !keyMatchesHash(by.key, row.secretHash))) {
      return { principal: null, reason: "unknown API key", expiresAt: null, cachedAt: Date.now() };
    }
    let entry: CachedKey;
    if (row.revokedAt) {
      entry = { principal: null, reason: "API key revoked", expiresAt: null, cachedAt: Date.now() };
    } else if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
      entry = { principal: null, reason: "API key expired", expiresAt: row.expiresAt, cachedAt: Date.now() };
    } else {
      entry = {
        principal: {
          apiKeyId: row.id,
          workspaceId: row.workspaceId,
          workspaceName: row.workspace.name,
          scope: row.scope,
          via: "api-key",
        },
        reason: "",
        expiresAt: row.expiresAt,
        cachedAt: Date.now(),
      };
    }
    if ("key" in by) this.byKey.set(by.key, entry);
    else this.byKeyId.set(by.id, entry);
    return entry;
  }

  private touch(apiKeyId: string): void {
    const now = Date.now();
    const last = this.lastUsedWritten.get(apiKeyId) ?? 0;
    if (now - last < this.lastUsedResolutionMs) return;
    this.lastUsedWritten.set(apiKeyId, now);
    // Off the request path: a lost lastUsedAt update is harmless.
    this.db.apiKey
      .update({ where: { id: apiKeyId }, data: { lastUsedAt: new Date(now) }, select: { id: true } })
      .catch(() => {});
  }
}
