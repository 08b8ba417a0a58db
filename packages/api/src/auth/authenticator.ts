// Resolves a bearer credential (API key or dashboard session token) to the calling principal: who
// acts (a user or a service account), through which credential, in which workspace, with which
// scope. A key's scope is narrowed to its owner's role at every use, so a demotion or a removal
// takes effect on existing keys and sign-ins without touching them.
// Verified credentials are cached briefly so hot paths (claims, state proposals) skip the lookup;
// the cache TTL bounds how long a revoked key, a removed member or a revoked sign-in keeps working
// on another replica (default 5 s); on this replica `invalidate()` ends it at once.
// Run tokens (a flow run's own credential, see run-tokens.ts) need no lookup at all: everything
// they say is signed into them.
import type { Db } from "@flowplane/db";
import { keyMatchesHash, parseApiKey, type ApiKeyScope } from "./api-keys.ts";
import { narrowerScope, ROLE_SCOPE, userScope, type OrgRole, type WorkspaceRole } from "./roles.ts";
import { looksLikeRunToken, verifyRunToken } from "./run-tokens.ts";
import { looksLikeSessionToken, verifySessionToken } from "./session-tokens.ts";
import type { TokenSigner } from "./token-signer.ts";
import type { RunAttempt } from "../services/run-state/fence.ts";

/** Who is acting: a person or a service account (workers, CI). */
export type Actor = { type: "user"; id: string; email: string } | { type: "service-account"; id: string; name: string };

export interface Principal {
  /**
   * The API key the call was made with (directly or through a dashboard token; for a run token,
   * the worker key it was issued to); null for a person's sign-in.
   */
  apiKeyId: string | null;
  /** The person's sign-in (UserSession) behind a dashboard token; null for API keys. */
  userSessionId: string | null;
  actor: Actor;
  organizationId: string;
  workspaceId: string;
  workspaceName: string;
  /** What this call may do: the key's scope narrowed to its owner's role (a person's role for a sign-in). */
  scope: ApiKeyScope;
  via: "api-key" | "session" | "run";
  /**
   * A run token's flow run and attempt (via "run" only). Such a principal may act only on that run
   * and the sub-flow runs its attempt created; the procedure tiers (trpc.ts) enforce it.
   */
  run?: RunScope;
}

/** What a run token is bound to: its run, its attempt (the run's claim token when issued), its expiry. */
export interface RunScope extends RunAttempt {
  expiresAt: Date;
}

export type Authentication = { ok: true; principal: Principal } | { ok: false; reason: string };

interface CachedCredential {
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

/** What the authenticator reads of a user to compute their scope in one workspace. */
const userRolesSelect = {
  id: true,
  email: true,
  orgMemberships: { select: { organizationId: true, role: true } },
  workspaceMemberships: { select: { workspaceId: true, role: true } },
} as const;

interface UserRoles {
  id: string;
  email: string;
  orgMemberships: { organizationId: string; role: OrgRole }[];
  workspaceMemberships: { workspaceId: string; role: WorkspaceRole }[];
}

function scopeOfUser(user: UserRoles, workspace: { id: string; organizationId: string }): ApiKeyScope | null {
  const org = user.orgMemberships.find((m) => m.organizationId === workspace.organizationId)?.role ?? null;
  const ws = user.workspaceMemberships.find((m) => m.workspaceId === workspace.id)?.role ?? null;
  return userScope(org, ws);
}

const refused = (reason: string, expiresAt: Date | null = null): CachedCredential => ({
  principal: null,
  reason,
  expiresAt,
  cachedAt: Date.now(),
});

export class Authenticator {
  private readonly byKey = new Map<string, CachedCredential>();
  private readonly byId = new Map<string, CachedCredential>();
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
    if (looksLikeRunToken(credential)) {
      const verified = await verifyRunToken(this.tokens, credential);
      if (!verified.ok) return verified;
      const { claims } = verified;
      return {
        ok: true,
        principal: {
          apiKeyId: claims.apiKeyId,
          userSessionId: null,
          actor: claims.actor,
          organizationId: claims.organizationId,
          workspaceId: claims.workspaceId,
          workspaceName: claims.workspaceName,
          // The tiers refuse a run principal everything not about its own run, whatever its scope;
          // WORKER keeps the claim fence strict (proposerOf).
          scope: "WORKER",
          via: "run",
          run: { flowRunId: claims.flowRunId, claimToken: claims.claimToken, expiresAt: verified.expiresAt },
        },
      };
    }
    if (looksLikeSessionToken(credential)) {
      const verified = await verifySessionToken(this.tokens, credential);
      if (!verified.ok) return verified;
      const { claims } = verified;
      if (claims.kind === "user") {
        const entry = await this.loadUserSession(claims.userSessionId, claims.workspaceId);
        if (!entry.principal) return { ok: false, reason: entry.reason };
        if (entry.expiresAt && entry.expiresAt.getTime() <= Date.now()) return { ok: false, reason: "signed out" };
        return { ok: true, principal: entry.principal };
      }
      // The key behind a session must still be valid: revoking a key ends its sessions.
      const key = await this.loadKey({ id: claims.apiKeyId });
      if (!key.principal) return { ok: false, reason: key.reason };
      // The cached entry may predate the key's expiry; a session must not outlive its key.
      if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return { ok: false, reason: "API key expired" };
      if (key.principal.workspaceId !== claims.workspaceId) return { ok: false, reason: "invalid session token" };
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
    this.touch(entry.principal.apiKeyId!);
    return { ok: true, principal: entry.principal };
  }

  /** Forget cached credentials, e.g. right after a revocation or a role change on this replica. */
  invalidate(): void {
    this.byKey.clear();
    this.byId.clear();
  }

  private cachedById(id: string): CachedCredential | null {
    const hit = this.byId.get(id);
    return hit && Date.now() - hit.cachedAt < this.cacheTtlMs ? hit : null;
  }

  private async loadKey(by: { id: string } | { prefix: string; key: string }): Promise<CachedCredential> {
    if ("id" in by) {
      const hit = this.cachedById(`key:${by.id}`);
      if (hit) return hit;
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
        workspace: { select: { name: true, organizationId: true } },
        user: { select: userRolesSelect },
        serviceAccount: { select: { id: true, name: true, role: true, workspaceId: true } },
      },
    });
    // Only credentials that matched a stored key are cached: anyone can send endless well-formed
    // forgeries, and caching each would grow this map without bound.
    if (!row || ("key" in by && !keyMatchesHash(by.key, row.secretHash))) return refused("unknown API key");
    let entry: CachedCredential;
    const workspace = { id: row.workspaceId, organizationId: row.workspace.organizationId };
    const ownerScope = row.user
      ? scopeOfUser(row.user, workspace)
      : row.serviceAccount && row.serviceAccount.workspaceId === row.workspaceId
        ? ROLE_SCOPE[row.serviceAccount.role]
        : null;
    if (row.revokedAt) entry = refused("API key revoked");
    else if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) entry = refused("API key expired", row.expiresAt);
    else if (ownerScope === null)
      entry = refused(
        row.user
          ? "the owner of this API key is no longer a member of its workspace"
          : "the service account of this API key no longer exists",
      );
    else {
      entry = {
        principal: {
          apiKeyId: row.id,
          userSessionId: null,
          actor: row.user
            ? { type: "user", id: row.user.id, email: row.user.email }
            : { type: "service-account", id: row.serviceAccount!.id, name: row.serviceAccount!.name },
          organizationId: row.workspace.organizationId,
          workspaceId: row.workspaceId,
          workspaceName: row.workspace.name,
          scope: narrowerScope(row.scope, ownerScope),
          via: "api-key",
        },
        reason: "",
        expiresAt: row.expiresAt,
        cachedAt: Date.now(),
      };
    }
    if ("key" in by) this.byKey.set(by.key, entry);
    else this.byId.set(`key:${by.id}`, entry);
    return entry;
  }

  private async loadUserSession(sessionId: string, workspaceId: string): Promise<CachedCredential> {
    const cacheKey = `session:${sessionId}:${workspaceId}`;
    const hit = this.cachedById(cacheKey);
    if (hit) return hit;
    const [session, workspace] = await Promise.all([
      this.db.userSession.findUnique({
        where: { id: sessionId },
        select: { id: true, expiresAt: true, revokedAt: true, user: { select: userRolesSelect } },
      }),
      this.db.workspace.findUnique({
        where: { id: workspaceId },
        select: { id: true, name: true, organizationId: true },
      }),
    ]);
    let entry: CachedCredential;
    const scope = session && workspace ? scopeOfUser(session.user, workspace) : null;
    if (!session || session.revokedAt) entry = refused("signed out");
    else if (session.expiresAt.getTime() <= Date.now()) entry = refused("signed out", session.expiresAt);
    else if (!workspace || scope === null) entry = refused("you are not a member of this workspace");
    else
      entry = {
        principal: {
          apiKeyId: null,
          userSessionId: session.id,
          actor: { type: "user", id: session.user.id, email: session.user.email },
          organizationId: workspace.organizationId,
          workspaceId: workspace.id,
          workspaceName: workspace.name,
          scope,
          via: "session",
        },
        reason: "",
        expiresAt: session.expiresAt,
        cachedAt: Date.now(),
      };
    this.byId.set(cacheKey, entry);
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
