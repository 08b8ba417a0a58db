// Members of the caller's organisation, seen from the caller's workspace: who they are and their
// role, invitations, role changes, removal, and users created directly by an admin.
import { z } from "zod";
import { MEMBER_ROLES } from "../auth/roles.ts";
import { createPasswordResetLink } from "../services/accounts/links.ts";
import {
  createUser,
  inviteMember,
  listMembers,
  removeMember,
  revokeInvitation,
  setMemberRole,
  type MemberScope,
} from "../services/accounts/members.ts";
import { adminProcedure, changingAccess, readProcedure, router } from "../trpc.ts";
import { id } from "./schemas.ts";

const email = z.string().trim().min(3).max(320).email("not an email address");
const role = z.enum(MEMBER_ROLES);

const scopeOf = (ctx: {
  principal: { organizationId: string; actor: MemberScope["actor"] };
  workspaceId: string;
}): MemberScope => ({
  organizationId: ctx.principal.organizationId,
  workspaceId: ctx.workspaceId,
  actor: ctx.principal.actor,
});

export const membersRouter = router({
  list: readProcedure.query(({ ctx }) => listMembers(ctx.services.resources, scopeOf(ctx))),
  invite: adminProcedure
    .input(z.object({ email, role }))
    .mutation(({ ctx, input }) =>
      inviteMember(
        ctx.services.resources,
        ctx.services.mailer,
        ctx.services.config,
        { ...scopeOf(ctx), workspaceName: ctx.principal.workspaceName },
        input,
      ),
    ),
  revokeInvitation: adminProcedure
    .input(z.object({ id }))
    .mutation(({ ctx, input }) => revokeInvitation(ctx.services.resources, scopeOf(ctx), input.id)),
  setRole: adminProcedure
    .input(z.object({ email, role }))
    .mutation(({ ctx, input }) => changingAccess(ctx, setMemberRole(ctx.services.resources, scopeOf(ctx), input))),
  remove: adminProcedure
    .input(z.object({ email }))
    .mutation(({ ctx, input }) => changingAccess(ctx, removeMember(ctx.services.resources, scopeOf(ctx), input.email))),
  /** Creates a user with a password (self-hosters without mail: `flowplane user create`). */
  createUser: adminProcedure
    .input(
      z.object({
        email,
        role,
        password: z.string().min(1, "required").max(1024),
        name: z.string().max(200).optional(),
      }),
    )
    .mutation(({ ctx, input }) => createUser(ctx.services.resources, ctx.services.config, scopeOf(ctx), input)),
  /** A password reset link for a member, for the admin to pass on when the server has no SMTP. */
  resetLink: adminProcedure
    .input(z.object({ email }))
    .mutation(({ ctx, input }) =>
      createPasswordResetLink(ctx.services.resources, ctx.services.config, ctx.principal.organizationId, input.email),
    ),
});
