// Single sign-on settings of the caller's organisation (issue 18.3). Signing in itself happens in
// the browser, over the server's /auth/sso/start and /auth/sso/callback (apps/server).
import { z } from "zod";
import { WORKSPACE_ROLES } from "../auth/roles.ts";
import { assertManagesOrganization, configureSso, getSso, removeSso } from "../services/sso.ts";
import { adminProcedure, router } from "../trpc.ts";

/** Changing SSO is for the organisation's owners and admins, checked before the input is read. */
const organizationAdminProcedure = adminProcedure.use(async ({ ctx, next }) => {
  await assertManagesOrganization(ctx.services.resources, ctx.principal.organizationId, ctx.principal.actor);
  return next();
});

export const ssoRouter = router({
  get: adminProcedure.query(({ ctx }) =>
    getSso(ctx.services.resources, ctx.principal.organizationId, ctx.services.config.publicUrl),
  ),
  configure: organizationAdminProcedure
    .input(
      z.object({
        issuer: z.url({ protocol: /^https?$/ }).max(500),
        clientId: z.string().trim().min(1).max(500),
        clientSecret: z.string().min(1).max(4000).optional(),
        allowedDomains: z.array(z.string().max(253)).min(1).max(50),
        workspaceName: z.string().min(1).max(200),
        defaultRole: z.enum(WORKSPACE_ROLES).default("VIEWER"),
        required: z.boolean().default(false),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { resources, masterKeys, oidc, config } = ctx.services;
      return configureSso(resources, masterKeys, oidc, ctx.principal.organizationId, input, config.publicUrl);
    }),
  remove: organizationAdminProcedure.mutation(async ({ ctx }) => {
    return { removed: await removeSso(ctx.services.resources, ctx.principal.organizationId) };
  }),
});
