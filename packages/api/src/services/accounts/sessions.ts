// People signing in to the dashboard: password checks with per-account and per-IP throttling,
// server-side sessions (UserSession) carried by an httpOnly cookie, the short-lived access tokens the
// dashboard sends as bearer credentials, and signing out (here, or everywhere).
import type { Db } from "@flowplane/db";
import type { ApiKeyScope } from "../../auth/api-keys.ts";
import { verifyAgainstDecoy, verifyPassword } from "../../auth/passwords.ts";
import { userScope, type OrgRole, type WorkspaceRole } from "../../auth/roles.ts";
import { issueSessionToken } from "../../auth/session-tokens.ts";
import type { TokenSigner } from "../../auth/token-signer.ts";
import { ApiError } from "../../errors.ts";
import type { ApiConfig } from "../../trpc.ts";
import type { Resources } from "../resources.ts";
import { assertPasswordSignInAllowed } from "../sso.ts";
import { newSecret, normalizeEmail, sha256 } from "./tokens.ts";

type SignInConfig = Pick<
  ApiConfig,
  | "loginMaxFailures"
  | "loginLockoutSeconds"
  | "loginIpMaxFailures"
  | "loginIpWindowSeconds"
  | "userSessionTtlSeconds"
  | "scryptCost"
>;

const minutes = (ms: number) => Math.max(1, Math.ceil(ms / 60_000));
const WRONG = "email or password is wrong";

export interface NewSession {
  userId: string;
  /** The cookie's value: shown once, stored hashed. */
  sessionToken: string;
  csrfToken: string;
  expiresAt: Date;
}

/** A fresh session for `userId`: a new random id every sign-in, so no session id set before survives it. */
export async function createUserSession(
  db: Db,
  userId: string,
  ttlSeconds: number,
  client: { ip: string | null; userAgent: string | null },
): Promise<NewSession> {
  const sessionToken = newSecret();
  const csrfToken = newSecret(24);
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  await db.userSession.create({
    data: {
      userId,
      tokenHash: sha256(sessionToken),
      csrfHash: sha256(csrfToken),
      ip: client.ip,
      userAgent: client.userAgent?.slice(0, 512) ?? null,
      expiresAt,
    },
    select: { id: true },
  });
  return { userId, sessionToken, csrfToken, expiresAt };
}

/** Refuses while `key` (an address, per purpose) is locked out, saying for how long. */
async function assertAddressOpen(db: Db, key: string | null, what: string): Promise<void> {
  if (!key) return;
  const row = await db.loginThrottle.findUnique({ where: { key }, select: { lockedUntil: true } });
  const lockedFor = row?.lockedUntil ? row.lockedUntil.getTime() - Date.now() : 0;
  if (lockedFor > 0)
    throw new ApiError(
      "RATE_LIMITED",
      `too many ${what} from your address; try again in ${minutes(lockedFor)} minutes`,
      {
        retryAfterMs: lockedFor,
      },
    );
}

/**
 * Counts one event for `key` in its window, locking the key for a window once it reaches
 * `loginIpMaxFailures` (one statement, so replicas count together).
 */
async function countAddressEvent(db: Db, key: string | null, config: AddressThrottleConfig): Promise<void> {
  if (!key) return;
  const window = config.loginIpWindowSeconds;
  await db.$executeRaw`
    INSERT INTO "LoginThrottle" (key, failures, "windowStartedAt") VALUES (${key}, 1, now())
    ON CONFLICT (key) DO UPDATE SET
      failures = CASE WHEN "LoginThrottle"."windowStartedAt" < now() - make_interval(secs => ${window}) THEN 1 ELSE "LoginThrottle".failures + 1 END,
      "windowStartedAt" = CASE WHEN "LoginThrottle"."windowStartedAt" < now() - make_interval(secs => ${window}) THEN now() ELSE "LoginThrottle"."windowStartedAt" END,
      "lockedUntil" = CASE
        WHEN "LoginThrottle"."windowStartedAt" >= now() - make_interval(secs => ${window})
         AND "LoginThrottle".failures + 1 >= ${config.loginIpMaxFailures}
        THEN now() + make_interval(secs => ${window}) ELSE "LoginThrottle"."lockedUntil" END`;
}

type AddressThrottleConfig = Pick<ApiConfig, "loginIpMaxFailures" | "loginIpWindowSeconds">;

/**
 * Throttles a procedure anyone may call without credentials (starting a device sign-in): an address
 * may call it as often in a window as it may fail sign-ins. Each such call writes a row, so without
 * this one address could fill the table.
 */
export async function throttleAddress(
  { prisma: db }: Pick<Resources, "prisma">,
  config: AddressThrottleConfig,
  purpose: string,
  ip: string | null,
): Promise<void> {
  const key = ip ? `${purpose}:${ip}` : null;
  await assertAddressOpen(db, key, "requests");
  await countAddressEvent(db, key, config);
}

/**
 * Checks an email and password. Refusals say what the person can do: a wrong pair never says which
 * half was wrong; a locked account or address says for how long. Unknown emails cost the same scrypt
 * as known ones.
 */
export async function signInWithPassword(
  { prisma: db }: Pick<Resources, "prisma">,
  config: SignInConfig,
  input: { email: string; password: string; ip: string | null; userAgent: string | null },
): Promise<NewSession> {
  const user = await checkPassword(db, config, normalizeEmail(input.email), input.password, input.ip);
  await assertPasswordSignInAllowed(db, user.id);
  return createUserSession(db, user.id, config.userSessionTtlSeconds, input);
}

/**
 * The one password check, for signing in and for accepting an invitation as an existing account:
 * the address and the account lock out after repeated failures, whichever way they are tried.
 */
export async function checkPassword(
  db: Db,
  config: Omit<SignInConfig, "userSessionTtlSeconds">,
  email: string,
  password: string,
  ip: string | null,
): Promise<{ id: string }> {
  const ipKey = ip ? `ip:${ip}` : null;
  await assertAddressOpen(db, ipKey, "failed sign-ins");
  const user = await db.user.findUnique({
    where: { email },
    select: { id: true, passwordHash: true, failedLogins: true, lockedUntil: true },
  });
  const lockedFor = user?.lockedUntil ? user.lockedUntil.getTime() - Date.now() : 0;
  if (lockedFor > 0)
    throw new ApiError(
      "RATE_LIMITED",
      `this account is locked after ${config.loginMaxFailures} failed sign-ins; try again in ${minutes(lockedFor)} minutes or reset your password`,
      { retryAfterMs: lockedFor },
    );
  if (!user?.passwordHash) {
    await verifyAgainstDecoy(password, config.scryptCost);
    await countAddressEvent(db, ipKey, config);
    throw new ApiError("UNAUTHENTICATED", WRONG, { path: "password" });
  }
  if (!(await verifyPassword(password, user.passwordHash))) {
    await countAddressEvent(db, ipKey, config);
    const failures = user.failedLogins + 1;
    const lock = failures >= config.loginMaxFailures;
    await db.user.update({
      where: { id: user.id },
      data: lock
        ? { failedLogins: 0, lockedUntil: new Date(Date.now() + config.loginLockoutSeconds * 1000) }
        : { failedLogins: failures },
      select: { id: true },
    });
    if (lock)
      throw new ApiError(
        "RATE_LIMITED",
        `this account is locked after ${config.loginMaxFailures} failed sign-ins; try again in ${minutes(config.loginLockoutSeconds * 1000)} minutes or reset your password`,
        { retryAfterMs: config.loginLockoutSeconds * 1000 },
      );
    throw new ApiError("UNAUTHENTICATED", WRONG, { path: "password" });
  }
  if (user.failedLogins > 0 || user.lockedUntil)
    await db.user.update({
      where: { id: user.id },
      data: { failedLogins: 0, lockedUntil: null },
      select: { id: true },
    });
  return user;
}

export interface CookieSession {
  id: string;
  userId: string;
  email: string;
  expiresAt: Date;
}

/**
 * The live session a cookie names. Every cookie-authenticated call must also send the session's CSRF
 * token in a header: another site can make a browser send the cookie, but cannot read the token.
 */
export async function sessionFromCookie(
  { prisma: db }: Pick<Resources, "prisma">,
  cookie: string | undefined,
  csrfToken: string | null,
): Promise<CookieSession> {
  if (!cookie) throw new ApiError("UNAUTHENTICATED", "not signed in");
  const row = await db.userSession.findUnique({
    where: { tokenHash: sha256(cookie) },
    select: {
      id: true,
      userId: true,
      csrfHash: true,
      expiresAt: true,
      revokedAt: true,
      user: { select: { email: true } },
    },
  });
  if (!row || row.revokedAt || row.expiresAt.getTime() <= Date.now())
    throw new ApiError("UNAUTHENTICATED", "signed out; sign in again");
  if (!csrfToken || sha256(csrfToken) !== row.csrfHash)
    throw new ApiError("FORBIDDEN", "missing or wrong CSRF token (header x-flowplane-csrf)", { path: "csrf" });
  await db.userSession.update({ where: { id: row.id }, data: { lastSeenAt: new Date() }, select: { id: true } });
  return { id: row.id, userId: row.userId, email: row.user.email, expiresAt: row.expiresAt };
}

export interface WorkspaceAccess {
  id: string;
  name: string;
  organization: { id: string; name: string };
  orgRole: OrgRole;
  workspaceRole: WorkspaceRole | null;
  scope: ApiKeyScope;
}

/** Every workspace the user may enter, with their role there, by organisation and name. */
export async function accessibleWorkspaces(db: Db, userId: string): Promise<WorkspaceAccess[]> {
  const user = await db.user.findUniqueOrThrow({
    where: { id: userId },
    select: {
      orgMemberships: {
        select: {
          role: true,
          organization: {
            select: {
              id: true,
              name: true,
              workspaces: { select: { id: true, name: true }, orderBy: { name: "asc" } },
            },
          },
        },
      },
      workspaceMemberships: { select: { workspaceId: true, role: true } },
    },
  });
  const out: WorkspaceAccess[] = [];
  for (const m of user.orgMemberships) {
    for (const ws of m.organization.workspaces) {
      const workspaceRole = user.workspaceMemberships.find((w) => w.workspaceId === ws.id)?.role ?? null;
      const scope = userScope(m.role, workspaceRole);
      if (scope)
        out.push({
          id: ws.id,
          name: ws.name,
          organization: { id: m.organization.id, name: m.organization.name },
          orgRole: m.role,
          workspaceRole,
          scope,
        });
    }
  }
  return out.sort((a, b) => a.organization.name.localeCompare(b.organization.name) || a.name.localeCompare(b.name));
}

/**
 * A short-lived bearer token for the dashboard, bound to the sign-in and one workspace (the named one,
 * else the first the user may enter). The authenticator re-checks the sign-in and the role at every use.
 */
export async function issueAccessToken(
  { prisma: db }: Pick<Resources, "prisma">,
  tokens: TokenSigner,
  ttlSeconds: number,
  session: CookieSession,
  workspaceName: string | null,
) {
  const workspaces = await accessibleWorkspaces(db, session.userId);
  const workspace = workspaceName ? workspaces.find((w) => w.name === workspaceName) : workspaces[0];
  if (!workspace)
    throw new ApiError(
      "FORBIDDEN",
      workspaceName
        ? `workspace: you are not a member of workspace "${workspaceName}"`
        : "you are not a member of any workspace yet",
      { path: "workspace" },
    );
  const ttl = Math.max(1, Math.min(ttlSeconds, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000)));
  const { token, expiresAt } = await issueSessionToken(
    tokens,
    { kind: "user", userSessionId: session.id, workspaceId: workspace.id },
    ttl,
  );
  return {
    token,
    expiresAt: expiresAt.toISOString(),
    user: { id: session.userId, email: session.email },
    workspace: { id: workspace.id, name: workspace.name },
    organization: workspace.organization,
    orgRole: workspace.orgRole,
    workspaceRole: workspace.workspaceRole,
    scope: workspace.scope,
    workspaces: workspaces.map((w) => ({ name: w.name, organization: w.organization.name, scope: w.scope })),
  };
}

export async function revokeSession({ prisma: db }: Pick<Resources, "prisma">, sessionId: string): Promise<void> {
  await db.userSession.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date() } });
}

/** Ends every sign-in of the user (sign-out everywhere, removal, password reset). */
export async function revokeUserSessions({ prisma: db }: Pick<Resources, "prisma">, userId: string): Promise<number> {
  const { count } = await db.userSession.updateMany({
    where: { userId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count;
}
