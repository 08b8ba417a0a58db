// Single sign-on per organisation (issue 18.3): its OpenID provider's settings, starting and
// finishing a sign-in (auth/oidc does the protocol), and just-in-time membership. Who may sign in
// is decided here: a verified email in one of the organisation's allowed domains. Creating the
// person's session is the caller's (the HTTP callback, with the accounts' sessions).
import type { Db } from "@flowplane/db";
import { type OidcClient, OidcError, type IdTokenClaims } from "../auth/oidc/client.ts";
import { openPending, sealPending } from "../auth/oidc/pending.ts";
import type { WorkspaceRole } from "../auth/roles.ts";
import type { MasterKeyring } from "../crypto/envelope.ts";
import type { Actor } from "../auth/authenticator.ts";
import { ApiError, invalid } from "../errors.ts";
import { userActor, type RequestClient } from "./audit/procedure-calls.ts";
import type { Resources } from "./resources.ts";

const secretContext = (organizationId: string) => `sso-client-secret:${organizationId}`;
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
export const SSO_SIGN_IN_ACTION = "auth.sso.signIn";

export interface SsoSettings {
  issuer: string;
  clientId: string;
  /** Required the first time; omitted later, the stored one is kept. */
  clientSecret?: string | undefined;
  allowedDomains: string[];
  /** The workspace (of this organisation) that people signing in for the first time join. */
  workspaceName: string;
  defaultRole: WorkspaceRole;
  required: boolean;
}

export interface SsoView {
  organizationId: string;
  issuer: string;
  clientId: string;
  allowedDomains: string[];
  workspaceName: string;
  defaultRole: WorkspaceRole;
  required: boolean;
  /** Where the provider must send people back (register it at the provider). */
  redirectUri: string | null;
  updatedAt: string;
}

const viewSelect = {
  organizationId: true,
  issuer: true,
  clientId: true,
  allowedDomains: true,
  defaultRole: true,
  required: true,
  updatedAt: true,
  workspace: { select: { name: true } },
} as const;

/** The callback URL of a server reachable at `publicUrl`. */
export function ssoRedirectUri(publicUrl: string | null): string | null {
  return publicUrl ? `${publicUrl.replace(/\/+$/, "")}/auth/sso/callback` : null;
}

function present(
  row: {
    organizationId: string;
    issuer: string;
    clientId: string;
    allowedDomains: string[];
    defaultRole: WorkspaceRole;
    required: boolean;
    updatedAt: Date;
    workspace: { name: string };
  },
  publicUrl: string | null,
): SsoView {
  return {
    organizationId: row.organizationId,
    issuer: row.issuer,
    clientId: row.clientId,
    allowedDomains: row.allowedDomains,
    workspaceName: row.workspace.name,
    defaultRole: row.defaultRole,
    required: row.required,
    redirectUri: ssoRedirectUri(publicUrl),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/^@/, "");
}

/** The lower-cased domain of an email, or null when it is not an email. */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf("@");
  return at > 0 && at < email.length - 1 ? email.slice(at + 1).toLowerCase() : null;
}

/**
 * SSO settings are the organisation's: its owners and admins change them, and service accounts
 * with an admin key (the local CLI profile, automation). Workspace admins who are organisation
 * members do not.
 */
export async function assertManagesOrganization(
  res: Pick<Resources, "prisma">,
  organizationId: string,
  actor: Actor,
): Promise<void> {
  if (actor.type === "service-account") return;
  const m = await res.prisma.organizationMembership.findUnique({
    where: { organizationId_userId: { organizationId, userId: actor.id } },
    select: { role: true },
  });
  if (m?.role !== "OWNER" && m?.role !== "ADMIN")
    throw new ApiError("FORBIDDEN", "only organisation owners and admins can change single sign-on");
}

export async function getSso(
  res: Pick<Resources, "prisma">,
  organizationId: string,
  publicUrl: string | null,
): Promise<SsoView | null> {
  const row = await res.prisma.ssoConnection.findUnique({ where: { organizationId }, select: viewSelect });
  return row ? present(row, publicUrl) : null;
}

/**
 * Saves an organisation's SSO settings. The issuer is checked by reading its discovery document,
 * so a typo is refused here rather than at the first person's sign-in.
 */
export async function configureSso(
  res: Pick<Resources, "prisma">,
  keys: MasterKeyring,
  oidc: OidcClient,
  organizationId: string,
  settings: SsoSettings,
  publicUrl: string | null,
): Promise<SsoView> {
  const domains = [...new Set(settings.allowedDomains.map(normalizeDomain))];
  if (domains.length === 0) throw invalid("allowedDomains", "name at least one email domain (acme.com)");
  const bad = domains.find((d) => !DOMAIN_RE.test(d));
  if (bad) throw invalid("allowedDomains", `${JSON.stringify(bad)} is not a domain name`);
  const workspace = await res.prisma.workspace.findFirst({
    where: { name: settings.workspaceName, organizationId },
    select: { id: true },
  });
  if (!workspace)
    throw invalid("workspaceName", `no workspace ${JSON.stringify(settings.workspaceName)} in this organisation`);
  // One domain, one organisation: the sign-in page finds the organisation from the email typed.
  const taken = await res.prisma.ssoConnection.findFirst({
    where: { organizationId: { not: organizationId }, allowedDomains: { hasSome: domains } },
    select: { allowedDomains: true },
  });
  if (taken) {
    const clash = domains.filter((d) => taken.allowedDomains.includes(d));
    throw new ApiError("CONFLICT", `allowedDomains: ${clash.join(", ")} already signs in to another organisation`, {
      path: "allowedDomains",
    });
  }
  try {
    await oidc.discover(settings.issuer);
  } catch (err) {
    if (err instanceof OidcError) throw invalid("issuer", err.message);
    throw err;
  }
  const existing = await res.prisma.ssoConnection.findUnique({ where: { organizationId }, select: { id: true } });
  if (!existing && !settings.clientSecret) throw invalid("clientSecret", "required when SSO is first set up");
  const data = {
    issuer: settings.issuer,
    clientId: settings.clientId,
    allowedDomains: domains,
    workspaceId: workspace.id,
    defaultRole: settings.defaultRole,
    required: settings.required,
    ...(settings.clientSecret ? { clientSecret: keys.seal(settings.clientSecret, secretContext(organizationId)) } : {}),
  };
  const row = await res.prisma.ssoConnection.upsert({
    where: { organizationId },
    create: { organizationId, clientSecret: "", ...data },
    update: data,
    select: viewSelect,
  });
  return present(row, publicUrl);
}

export async function removeSso(res: Pick<Resources, "prisma">, organizationId: string): Promise<boolean> {
  const { count } = await res.prisma.ssoConnection.deleteMany({ where: { organizationId } });
  return count > 0;
}

/** Which organisation's SSO an email signs in with (by its domain). */
async function connectionForEmail(db: Db, email: string) {
  const domain = emailDomain(email);
  if (!domain) throw invalid("email", "expected an email address");
  const row = await db.ssoConnection.findFirst({
    where: { allowedDomains: { has: domain } },
    select: { organizationId: true, issuer: true, clientId: true },
  });
  if (!row) throw new ApiError("NOT_FOUND", `single sign-on is not set up for ${domain}`, { path: "email" });
  return row;
}

/**
 * Starts a sign-in for `email`: the provider URL to send the browser to (with the email as a login
 * hint), and the sealed pending sign-in to keep in that browser's cookie.
 */
export async function startSsoSignIn(
  res: Pick<Resources, "prisma">,
  keys: MasterKeyring,
  oidc: OidcClient,
  input: { email: string; redirectUri: string },
): Promise<{ url: string; pending: string }> {
  const connection = await connectionForEmail(res.prisma, input.email);
  const { url, pending } = await oidc.beginSignIn({
    issuer: connection.issuer,
    clientId: connection.clientId,
    redirectUri: input.redirectUri,
  });
  const withHint = new URL(url);
  withHint.searchParams.set("login_hint", input.email.trim());
  return { url: withHint.href, pending: sealPending(keys, { ...pending, organizationId: connection.organizationId }) };
}

export interface SsoSignIn {
  userId: string;
  email: string;
  organizationId: string;
  /** The user was created by this sign-in (just-in-time). */
  created: boolean;
}

/**
 * Finishes a sign-in from the provider's redirect and the browser's pending sign-in; on success
 * the person is a member (just in time, if new). Every outcome is audited (`auth.sso.signIn`).
 * Throws OidcError for protocol refusals and ApiError for policy refusals.
 */
export async function finishSsoSignIn(
  res: Pick<Resources, "prisma" | "audit">,
  keys: MasterKeyring,
  oidc: OidcClient,
  input: { pending: string | null; callback: URLSearchParams; redirectUri: string; client: RequestClient },
): Promise<SsoSignIn> {
  // Filled in as they become known, so a refusal is audited with what was learnt before it.
  let organizationId: string | null = null;
  let workspaceId: string | null = null;
  let email: string | null = null;
  const audit = (outcome: "ok" | "refused", errorCode: string | null, user: { id: string; email: string } | null) => {
    res.audit.record({
      // The SSO workspace, whose admins read the audit log.
      workspaceId,
      actor: user
        ? userActor(user.id, user.email)
        : { type: "anonymous", id: null, name: email, apiKeyId: null, apiKeyPrefix: null },
      action: SSO_SIGN_IN_ACTION,
      target: { ...(organizationId ? { organizationId } : {}), ...(email ? { email } : {}) },
      outcome,
      errorCode,
      ...input.client,
    });
  };
  try {
    const pending = openPending(keys, input.pending);
    organizationId = pending.organizationId;
    const connection = await res.prisma.ssoConnection.findUnique({
      where: { organizationId },
      select: {
        issuer: true,
        clientId: true,
        clientSecret: true,
        allowedDomains: true,
        workspaceId: true,
        defaultRole: true,
      },
    });
    if (!connection) throw new ApiError("NOT_FOUND", "single sign-on was turned off for this organisation");
    workspaceId = connection.workspaceId;
    const claims = await oidc.completeSignIn(
      {
        issuer: connection.issuer,
        clientId: connection.clientId,
        clientSecret: keys.openText(connection.clientSecret, secretContext(organizationId)),
        redirectUri: input.redirectUri,
      },
      pending,
      input.callback,
    );
    email = typeof claims.email === "string" ? claims.email.trim().toLowerCase() : null;
    checkEmail(claims, email, connection.allowedDomains);
    const user = await joinJustInTime(res.prisma, {
      email,
      name: typeof claims.name === "string" ? claims.name : null,
      organizationId,
      workspaceId: connection.workspaceId,
      defaultRole: connection.defaultRole,
    });
    audit("ok", null, { id: user.userId, email });
    return { ...user, email, organizationId };
  } catch (err) {
    const code = err instanceof OidcError ? err.code : err instanceof ApiError ? err.apiCode : "INTERNAL";
    audit("refused", code, null);
    throw err;
  }
}

/** Refuses the email the ID token vouches for unless it is verified and in an allowed domain. */
function checkEmail(claims: IdTokenClaims, email: string | null, allowedDomains: string[]): asserts email is string {
  if (!email)
    throw new ApiError("FORBIDDEN", "the identity provider sent no email address; ask it to include the email claim");
  // Providers that do not say (email_verified absent) vouch for addresses in their own directory.
  if (claims.email_verified === false)
    throw new ApiError("FORBIDDEN", `the identity provider has not verified ${email}`);
  const domain = emailDomain(email);
  if (!domain || !allowedDomains.includes(domain))
    throw new ApiError(
      "FORBIDDEN",
      `${email} is not in a domain allowed to sign in here (${allowedDomains.join(", ")})`,
    );
}

/**
 * Just-in-time membership: the user (created without a password if new), a member of the
 * organisation, and of the SSO workspace with the default role unless they already have a role
 * there. Never lowers or raises a role someone already has.
 */
async function joinJustInTime(
  db: Db,
  p: { email: string; name: string | null; organizationId: string; workspaceId: string; defaultRole: WorkspaceRole },
): Promise<{ userId: string; created: boolean }> {
  return db.$transaction(async (tx) => {
    const existing = await tx.user.findUnique({ where: { email: p.email }, select: { id: true } });
    const user = existing ?? (await tx.user.create({ data: { email: p.email, name: p.name }, select: { id: true } }));
    const orgMember = await tx.organizationMembership.findUnique({
      where: { organizationId_userId: { organizationId: p.organizationId, userId: user.id } },
      select: { role: true },
    });
    if (!orgMember)
      await tx.organizationMembership.create({
        data: { organizationId: p.organizationId, userId: user.id, role: "MEMBER" },
        select: { id: true },
      });
    if (!orgMember || orgMember.role === "MEMBER")
      await tx.workspaceMembership.upsert({
        where: { workspaceId_userId: { workspaceId: p.workspaceId, userId: user.id } },
        create: { workspaceId: p.workspaceId, userId: user.id, role: p.defaultRole },
        update: {},
        select: { id: true },
      });
    return { userId: user.id, created: !existing };
  });
}

/**
 * Refuses a password sign-in for someone whose organisation requires SSO (called after the password
 * checked out, so it tells nothing to someone who does not know it).
 */
export async function assertPasswordSignInAllowed(db: Db, userId: string): Promise<void> {
  const required = await db.organizationMembership.findFirst({
    where: { userId, organization: { sso: { required: true } } },
    select: { organization: { select: { name: true } } },
  });
  if (required)
    throw new ApiError(
      "FORBIDDEN",
      `organisation ${required.organization.name} requires single sign-on: use "Sign in with SSO"`,
      { path: "password" },
    );
}
