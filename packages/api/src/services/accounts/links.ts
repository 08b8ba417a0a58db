// What the single-use links do when someone opens them: accept an invitation (or the first-owner
// link printed at the first start), and reset a password. A link's token is checked by its hash,
// refused once used, revoked or expired, and spent in the same statement that checks it, so two
// concurrent redemptions cannot both succeed.
import type { Db } from "@flowplane/db";
import { assertAcceptablePassword, hashPassword } from "../../auth/passwords.ts";
import { memberRoleOf, type OrgRole, type WorkspaceRole } from "../../auth/roles.ts";
import { ApiError } from "../../errors.ts";
import type { ApiConfig } from "../../trpc.ts";
import type { Mailer } from "../mailer.ts";
import type { Resources } from "../resources.ts";
import { checkPassword, createUserSession, revokeUserSessions, type NewSession } from "./sessions.ts";
import { dashboardLink, newSecret, normalizeEmail, sha256 } from "./tokens.ts";

const invitationSelect = {
  id: true,
  email: true,
  orgRole: true,
  workspaceRole: true,
  workspaceId: true,
  organizationId: true,
  expiresAt: true,
  acceptedAt: true,
  revokedAt: true,
  organization: { select: { name: true } },
  workspace: { select: { name: true } },
} as const;

async function liveInvitation(db: Db, token: string) {
  const inv = await db.invitation.findUnique({ where: { tokenHash: sha256(token) }, select: invitationSelect });
  if (!inv) throw new ApiError("NOT_FOUND", "token: this invitation link is not valid", { path: "token" });
  if (inv.acceptedAt)
    throw new ApiError("PRECONDITION_FAILED", "token: this invitation was already used", { path: "token" });
  if (inv.revokedAt)
    throw new ApiError("PRECONDITION_FAILED", "token: this invitation was withdrawn", { path: "token" });
  if (inv.expiresAt.getTime() <= Date.now())
    throw new ApiError("PRECONDITION_FAILED", "token: this invitation has expired; ask for a new one", {
      path: "token",
    });
  return inv;
}

/** What the accept page shows before anyone types a password. */
export async function describeInvitation({ prisma: db }: Pick<Resources, "prisma">, token: string) {
  const inv = await liveInvitation(db, token);
  const existing = inv.email ? await db.user.findUnique({ where: { email: inv.email }, select: { id: true } }) : null;
  return {
    email: inv.email,
    organization: inv.organization.name,
    workspace: inv.workspace?.name ?? null,
    role: memberRoleOf(inv.orgRole, inv.workspaceRole),
    /** The invitee already has an account: they confirm with its password instead of choosing one. */
    existingUser: existing !== null,
    expiresAt: inv.expiresAt.toISOString(),
  };
}

async function grant(
  db: Db,
  userId: string,
  inv: { organizationId: string; workspaceId: string | null; orgRole: OrgRole; workspaceRole: WorkspaceRole | null },
) {
  await db.organizationMembership.upsert({
    where: { organizationId_userId: { organizationId: inv.organizationId, userId } },
    create: { organizationId: inv.organizationId, userId, role: inv.orgRole },
    update: { role: inv.orgRole },
    select: { id: true },
  });
  if (inv.workspaceId && inv.workspaceRole)
    await db.workspaceMembership.upsert({
      where: { workspaceId_userId: { workspaceId: inv.workspaceId, userId } },
      create: { workspaceId: inv.workspaceId, userId, role: inv.workspaceRole },
      update: { role: inv.workspaceRole },
      select: { id: true },
    });
}

/**
 * Accepts an invitation: a new user chooses a password; an existing user confirms theirs. The
 * first-owner link has no email: whoever holds it chooses the owner's email. Signs the person in.
 */
export async function acceptInvitation(
  { prisma: db }: Pick<Resources, "prisma">,
  config: Pick<
    ApiConfig,
    | "scryptCost"
    | "userSessionTtlSeconds"
    | "loginMaxFailures"
    | "loginLockoutSeconds"
    | "loginIpMaxFailures"
    | "loginIpWindowSeconds"
  >,
  input: { token: string; password: string; email?: string | undefined; name?: string | undefined },
  client: { ip: string | null; userAgent: string | null },
): Promise<NewSession> {
  const inv = await liveInvitation(db, input.token);
  const email = inv.email ?? (input.email ? normalizeEmail(input.email) : null);
  if (!email) throw new ApiError("INVALID_INPUT", "email: required for this link", { path: "email" });
  if (!/^[^\s@]+@[^\s@]+$/.test(email))
    throw new ApiError("INVALID_INPUT", "email: not an email address", { path: "email" });
  const existing = await db.user.findUnique({ where: { email }, select: { id: true } });
  // An existing account proves it is theirs with its password, under the same lockout as signing in:
  // an invitation link must not become a way around it.
  if (existing) await checkPassword(db, config, email, input.password, client.ip);
  else await assertAcceptablePassword(input.password, email);
  const passwordHash = existing ? null : await hashPassword(input.password, config.scryptCost);
  const userId = await db.$transaction(async (tx) => {
    // Spend the link first: of two concurrent redemptions only one updates the row.
    const spent = await tx.invitation.updateMany({
      where: { id: inv.id, acceptedAt: null, revokedAt: null, expiresAt: { gt: new Date() } },
      data: { acceptedAt: new Date() },
    });
    if (spent.count === 0)
      throw new ApiError("PRECONDITION_FAILED", "token: this invitation was already used", { path: "token" });
    const id =
      existing?.id ??
      (
        await tx.user.create({
          data: { email, name: input.name ?? null, passwordHash, passwordChangedAt: new Date() },
          select: { id: true },
        })
      ).id;
    await grant(tx as unknown as Db, id, inv);
    return id;
  });
  return createUserSession(db, userId, config.userSessionTtlSeconds, client);
}

/** A new reset link for a user (the previous ones stop working). */
async function newResetLink(db: Db, config: Pick<ApiConfig, "passwordResetTtlSeconds" | "publicUrl">, userId: string) {
  const token = newSecret();
  const expiresAt = new Date(Date.now() + config.passwordResetTtlSeconds * 1000);
  await db.$transaction([
    db.passwordReset.updateMany({ where: { userId, usedAt: null }, data: { usedAt: new Date() } }),
    db.passwordReset.create({ data: { userId, tokenHash: sha256(token), expiresAt }, select: { id: true } }),
  ]);
  return { ...dashboardLink(config.publicUrl, "reset-password", token), expiresAt };
}

/**
 * "Forgot password": mails a reset link when SMTP is configured and the email has an account. The
 * answer is the same whether or not it has one, so it cannot be used to find accounts.
 */
export async function requestPasswordReset(
  { prisma: db }: Pick<Resources, "prisma">,
  mailer: Mailer | null,
  config: Pick<ApiConfig, "passwordResetTtlSeconds" | "publicUrl">,
  email: string,
): Promise<{ mailed: boolean }> {
  if (!mailer || !config.publicUrl) return { mailed: false };
  const user = await db.user.findUnique({ where: { email: normalizeEmail(email) }, select: { id: true, email: true } });
  if (user) {
    const link = await newResetLink(db, config, user.id);
    await mailer.send({
      to: user.email,
      subject: "Reset your Flowplane password",
      text: `Choose a new password: ${link.url}\n\nThe link works once and expires at ${link.expiresAt.toISOString()}. If you did not ask for it, ignore this mail.`,
    });
  }
  return { mailed: true };
}

/** An admin's reset link for a member of their organisation, to pass on (servers without mail). */
export async function createPasswordResetLink(
  { prisma: db }: Pick<Resources, "prisma">,
  config: Pick<ApiConfig, "passwordResetTtlSeconds" | "publicUrl">,
  organizationId: string,
  email: string,
) {
  const user = await db.user.findFirst({
    where: { email: normalizeEmail(email), orgMemberships: { some: { organizationId } } },
    select: { id: true, email: true },
  });
  if (!user) throw new ApiError("NOT_FOUND", `email: ${email} is not a member`, { path: "email" });
  const link = await newResetLink(db, config, user.id);
  return { email: user.email, link: link.url ?? link.path, expiresAt: link.expiresAt.toISOString() };
}

/** Sets a new password through a reset link (once, before it expires) and ends every sign-in. */
export async function resetPassword(
  { prisma: db }: Pick<Resources, "prisma">,
  config: Pick<ApiConfig, "scryptCost">,
  input: { token: string; password: string },
): Promise<{ email: string }> {
  const reset = await db.passwordReset.findUnique({
    where: { tokenHash: sha256(input.token) },
    select: { id: true, usedAt: true, expiresAt: true, user: { select: { id: true, email: true } } },
  });
  if (!reset) throw new ApiError("NOT_FOUND", "token: this reset link is not valid", { path: "token" });
  if (reset.usedAt)
    throw new ApiError("PRECONDITION_FAILED", "token: this reset link was already used", { path: "token" });
  if (reset.expiresAt.getTime() <= Date.now())
    throw new ApiError("PRECONDITION_FAILED", "token: this reset link has expired; ask for a new one", {
      path: "token",
    });
  await assertAcceptablePassword(input.password, reset.user.email);
  const passwordHash = await hashPassword(input.password, config.scryptCost);
  await db.$transaction(async (tx) => {
    const spent = await tx.passwordReset.updateMany({
      where: { id: reset.id, usedAt: null },
      data: { usedAt: new Date() },
    });
    if (spent.count === 0)
      throw new ApiError("PRECONDITION_FAILED", "token: this reset link was already used", { path: "token" });
    await tx.user.update({
      where: { id: reset.user.id },
      data: { passwordHash, passwordChangedAt: new Date(), failedLogins: 0, lockedUntil: null },
      select: { id: true },
    });
    await revokeUserSessions({ prisma: tx as unknown as Db }, reset.user.id);
  });
  return { email: reset.user.email };
}
