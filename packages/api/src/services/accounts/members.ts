// Members of an organisation and their roles, as admins manage them: list, invite, change roles,
// remove, and create users directly (self-hosters without mail). Every query is scoped to the
// caller's organisation (and workspace, for workspace roles).
import type { Db } from "@flowplane/db";
import type { Actor } from "../../auth/authenticator.ts";
import { assertAcceptablePassword, hashPassword } from "../../auth/passwords.ts";
import { mayAssignOrgRole, memberRoleOf, memberRoleParts, type MemberRole, type OrgRole } from "../../auth/roles.ts";
import { ApiError } from "../../errors.ts";
import type { ApiConfig } from "../../trpc.ts";
import type { Mailer } from "../mailer.ts";
import type { Resources } from "../resources.ts";
import { revokeUserSessions } from "./sessions.ts";
import { dashboardLink, newSecret, normalizeEmail, sha256 } from "./tokens.ts";

/** Where a member-management call happens and who makes it. */
export interface MemberScope {
  organizationId: string;
  workspaceId: string;
  actor: Actor;
}

/**
 * The caller's organisation role. Service accounts with an admin key (the local CLI profile's, CI)
 * act as organisation admins; they may name an owner only while the organisation has none (the first
 * owner of a self-hosted server).
 */
async function actorOrgRole(db: Db, scope: MemberScope): Promise<OrgRole | "SERVICE_ACCOUNT"> {
  if (scope.actor.type === "service-account") return "SERVICE_ACCOUNT";
  const m = await db.organizationMembership.findUnique({
    where: { organizationId_userId: { organizationId: scope.organizationId, userId: scope.actor.id } },
    select: { role: true },
  });
  return m?.role ?? "MEMBER";
}

async function assertMayAssign(db: Db, scope: MemberScope, target: OrgRole, field: string): Promise<void> {
  const role = await actorOrgRole(db, scope);
  if (role === "SERVICE_ACCOUNT") {
    if (target !== "OWNER") return;
    const owners = await db.organizationMembership.count({
      where: { organizationId: scope.organizationId, role: "OWNER" },
    });
    if (owners === 0) return;
    throw new ApiError("FORBIDDEN", `${field}: only an owner can make owners`, { path: field });
  }
  if (role === "MEMBER" && target === "MEMBER") return; // a workspace admin manages its workspace's members
  if (!mayAssignOrgRole(role, target))
    throw new ApiError(
      "FORBIDDEN",
      target === "OWNER"
        ? `${field}: only an owner can make owners`
        : `${field}: only organisation owners and admins can do this`,
      { path: field },
    );
}

/** Applies a member role to a user: their organisation role and, for members, their role in this workspace. */
async function applyRole(db: Db, scope: MemberScope, userId: string, role: MemberRole): Promise<void> {
  const { orgRole, workspaceRole } = memberRoleParts(role);
  await db.organizationMembership.upsert({
    where: { organizationId_userId: { organizationId: scope.organizationId, userId } },
    create: { organizationId: scope.organizationId, userId, role: orgRole },
    update: { role: orgRole },
    select: { id: true },
  });
  if (workspaceRole)
    await db.workspaceMembership.upsert({
      where: { workspaceId_userId: { workspaceId: scope.workspaceId, userId } },
      create: { workspaceId: scope.workspaceId, userId, role: workspaceRole },
      update: { role: workspaceRole },
      select: { id: true },
    });
}

export async function listMembers({ prisma: db }: Pick<Resources, "prisma">, scope: MemberScope) {
  const [members, invitations] = await Promise.all([
    db.organizationMembership.findMany({
      where: { organizationId: scope.organizationId },
      orderBy: { id: "desc" },
      select: {
        role: true,
        createdAt: true,
        user: {
          select: {
            id: true,
            email: true,
            name: true,
            workspaceMemberships: { where: { workspaceId: scope.workspaceId }, select: { role: true } },
          },
        },
      },
    }),
    db.invitation.findMany({
      where: { organizationId: scope.organizationId, acceptedAt: null, revokedAt: null, email: { not: null } },
      orderBy: { id: "desc" },
      select: {
        id: true,
        email: true,
        orgRole: true,
        workspaceRole: true,
        workspaceId: true,
        expiresAt: true,
        createdAt: true,
      },
    }),
  ]);
  const now = Date.now();
  // Newest first across both kinds (invited or joined), as every list is.
  const rows = [
    ...invitations
      .filter((i) => i.orgRole !== "MEMBER" || i.workspaceId === scope.workspaceId)
      .map((i) => ({
        id: i.id,
        email: i.email!,
        name: null,
        role: memberRoleOf(i.orgRole, i.workspaceRole),
        status: i.expiresAt.getTime() <= now ? ("invitation-expired" as const) : ("invited" as const),
        since: i.createdAt.toISOString(),
      })),
    ...members.map((m) => ({
      id: m.user.id,
      email: m.user.email,
      name: m.user.name,
      role: memberRoleOf(m.role, m.user.workspaceMemberships[0]?.role ?? null),
      status: "active" as const,
      since: m.createdAt.toISOString(),
    })),
  ];
  return rows.sort((x, y) => y.since.localeCompare(x.since));
}

async function findMember(db: Db, scope: MemberScope, email: string) {
  const user = await db.user.findUnique({
    where: { email: normalizeEmail(email) },
    select: {
      id: true,
      email: true,
      orgMemberships: { where: { organizationId: scope.organizationId }, select: { role: true } },
    },
  });
  const membership = user?.orgMemberships[0];
  if (!user || !membership) throw new ApiError("NOT_FOUND", `email: ${email} is not a member`, { path: "email" });
  return { id: user.id, email: user.email, orgRole: membership.role };
}

async function assertKeepsAnOwner(db: Db, scope: MemberScope, userId: string): Promise<void> {
  const owners = await db.organizationMembership.findMany({
    where: { organizationId: scope.organizationId, role: "OWNER" },
    select: { userId: true },
  });
  if (owners.length === 1 && owners[0]!.userId === userId)
    throw new ApiError("PRECONDITION_FAILED", "email: the organisation's last owner cannot be demoted or removed", {
      path: "email",
    });
}

export async function setMemberRole(
  { prisma: db }: Pick<Resources, "prisma">,
  scope: MemberScope,
  input: { email: string; role: MemberRole },
) {
  const member = await findMember(db, scope, input.email);
  await assertMayAssign(db, scope, member.orgRole, "email");
  await assertMayAssign(db, scope, memberRoleParts(input.role).orgRole, "role");
  if (member.orgRole === "OWNER" && input.role !== "owner") await assertKeepsAnOwner(db, scope, member.id);
  await db.$transaction(async (tx) => {
    await applyRole(tx as unknown as Db, scope, member.id, input.role);
  });
  return { email: member.email, role: input.role };
}

/**
 * Removes a member from the organisation: their memberships go, their keys in its workspaces are
 * revoked and their sign-ins end, at once (the caller invalidates the authenticator's cache). A
 * workspace admin (an organisation member) removes people from their workspace only: that
 * membership goes and the person's keys in that workspace are revoked.
 */
export async function removeMember({ prisma: db }: Pick<Resources, "prisma">, scope: MemberScope, email: string) {
  const member = await findMember(db, scope, email);
  await assertMayAssign(db, scope, member.orgRole, "email");
  if (scope.actor.type === "user" && scope.actor.id === member.id)
    throw new ApiError("PRECONDITION_FAILED", "email: you cannot remove yourself", { path: "email" });
  await assertKeepsAnOwner(db, scope, member.id);
  if ((await actorOrgRole(db, scope)) === "MEMBER") {
    const revoked = await db.$transaction(async (tx) => {
      const { count } = await tx.workspaceMembership.deleteMany({
        where: { userId: member.id, workspaceId: scope.workspaceId },
      });
      if (count === 0)
        throw new ApiError("NOT_FOUND", `email: ${email} is not a member of this workspace`, { path: "email" });
      const keys = await tx.apiKey.updateMany({
        where: { userId: member.id, revokedAt: null, workspaceId: scope.workspaceId },
        data: { revokedAt: new Date() },
      });
      return keys.count;
    });
    return { email: member.email, removed: true, revokedKeys: revoked };
  }
  const revoked = await db.$transaction(async (tx) => {
    const workspaces = { organizationId: scope.organizationId };
    await tx.workspaceMembership.deleteMany({ where: { userId: member.id, workspace: workspaces } });
    await tx.organizationMembership.delete({
      where: { organizationId_userId: { organizationId: scope.organizationId, userId: member.id } },
    });
    const keys = await tx.apiKey.updateMany({
      where: { userId: member.id, revokedAt: null, workspace: workspaces },
      data: { revokedAt: new Date() },
    });
    await revokeUserSessions({ prisma: tx as unknown as Db }, member.id);
    return keys.count;
  });
  return { email: member.email, removed: true, revokedKeys: revoked };
}

type InviteConfig = Pick<ApiConfig, "invitationTtlSeconds" | "publicUrl">;

/**
 * Invites `email` with `role`. The link (single-use, expiring) goes by mail when SMTP is configured;
 * otherwise it is returned to the inviter to pass on. Inviting again replaces a pending invitation.
 */
export async function inviteMember(
  { prisma: db }: Pick<Resources, "prisma">,
  mailer: Mailer | null,
  config: InviteConfig,
  scope: MemberScope & { workspaceName: string },
  input: { email: string; role: MemberRole },
) {
  const email = normalizeEmail(input.email);
  const { orgRole, workspaceRole } = memberRoleParts(input.role);
  await assertMayAssign(db, scope, orgRole, "role");
  const existing = await db.organizationMembership.findFirst({
    where: { organizationId: scope.organizationId, user: { email } },
    select: { id: true },
  });
  if (existing)
    throw new ApiError("CONFLICT", `email: ${email} is already a member; use member set-role`, { path: "email" });
  const token = newSecret();
  const expiresAt = new Date(Date.now() + config.invitationTtlSeconds * 1000);
  const invitation = await db.$transaction(async (tx) => {
    await tx.invitation.updateMany({
      where: { organizationId: scope.organizationId, email, acceptedAt: null, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return tx.invitation.create({
      data: {
        organizationId: scope.organizationId,
        workspaceId: scope.workspaceId,
        email,
        orgRole,
        workspaceRole,
        tokenHash: sha256(token),
        invitedById: scope.actor.type === "user" ? scope.actor.id : null,
        expiresAt,
      },
      select: { id: true },
    });
  });
  const link = dashboardLink(config.publicUrl, "accept-invite", token);
  if (mailer && link.url) {
    const org = await db.organization.findUniqueOrThrow({
      where: { id: scope.organizationId },
      select: { name: true },
    });
    await mailer.send({
      to: email,
      subject: `You are invited to ${org.name} on Flowplane`,
      text: [
        `You are invited to join the organisation "${org.name}" on Flowplane as ${input.role}${workspaceRole ? ` of workspace "${scope.workspaceName}"` : ""}.`,
        "",
        `Accept the invitation: ${link.url}`,
        "",
        `The link works once and expires at ${expiresAt.toISOString()}.`,
      ].join("\n"),
    });
    return { id: invitation.id, email, role: input.role, expiresAt: expiresAt.toISOString(), mailed: true, link: null };
  }
  return {
    id: invitation.id,
    email,
    role: input.role,
    expiresAt: expiresAt.toISOString(),
    mailed: false,
    link: link.url ?? link.path,
  };
}

export async function revokeInvitation({ prisma: db }: Pick<Resources, "prisma">, scope: MemberScope, id: string) {
  const { count } = await db.invitation.updateMany({
    where: { id, organizationId: scope.organizationId, acceptedAt: null, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  if (count === 0) throw new ApiError("NOT_FOUND", `id: no pending invitation ${id}`, { path: "id" });
  return { id, revoked: true };
}

/** Creates a user with a password and a role directly (no mail needed). */
export async function createUser(
  { prisma: db }: Pick<Resources, "prisma">,
  config: Pick<ApiConfig, "scryptCost">,
  scope: MemberScope,
  input: { email: string; role: MemberRole; password: string; name?: string | undefined },
) {
  const email = normalizeEmail(input.email);
  await assertMayAssign(db, scope, memberRoleParts(input.role).orgRole, "role");
  const existing = await db.user.findUnique({ where: { email }, select: { id: true } });
  if (existing) throw new ApiError("CONFLICT", `email: a user ${email} already exists`, { path: "email" });
  await assertAcceptablePassword(input.password, email);
  const passwordHash = await hashPassword(input.password, config.scryptCost);
  const user = await db.$transaction(async (tx) => {
    const created = await tx.user.create({
      data: { email, name: input.name ?? null, passwordHash, passwordChangedAt: new Date() },
      select: { id: true, email: true },
    });
    await applyRole(tx as unknown as Db, scope, created.id, input.role);
    return created;
  });
  return { id: user.id, email: user.email, role: input.role };
}
