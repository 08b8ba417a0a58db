// Service accounts of the caller's workspace and their keys (admins only).
import { z } from "zod";
import { API_KEY_SCOPES } from "../auth/api-keys.ts";
import { WORKSPACE_ROLES } from "../auth/roles.ts";
import {
  createServiceAccount,
  createServiceAccountKey,
  deleteServiceAccount,
  listServiceAccounts,
  setServiceAccountRole,
} from "../services/accounts/service-accounts.ts";
import { adminProcedure, changingAccess, router } from "../trpc.ts";
import { name } from "./schemas.ts";

const role = z.enum(WORKSPACE_ROLES);
const scopeOf = (ctx: { principal: { organizationId: string }; workspaceId: string }) => ({
  organizationId: ctx.principal.organizationId,
  workspaceId: ctx.workspaceId,
});

export const serviceAccountsRouter = router({
  list: adminProcedure.query(({ ctx }) => listServiceAccounts(ctx.services.resources, scopeOf(ctx))),
  create: adminProcedure
    .input(z.object({ name, role }))
    .mutation(({ ctx, input }) => createServiceAccount(ctx.services.resources, scopeOf(ctx), input)),
  setRole: adminProcedure
    .input(z.object({ name, role }))
    .mutation(({ ctx, input }) =>
      changingAccess(ctx, setServiceAccountRole(ctx.services.resources, scopeOf(ctx), input)),
    ),
  delete: adminProcedure
    .input(z.object({ name }))
    .mutation(({ ctx, input }) =>
      changingAccess(ctx, deleteServiceAccount(ctx.services.resources, scopeOf(ctx), input.name)),
    ),
  /** The key itself is returned once, here. */
  createKey: adminProcedure
    .input(
      z.object({
        serviceAccount: name,
        name,
        scope: z.enum(API_KEY_SCOPES).default("WORKER"),
        expiresInDays: z.number().int().min(1).max(3650).optional(),
      }),
    )
    .mutation(({ ctx, input }) => createServiceAccountKey(ctx.services.resources, scopeOf(ctx), input)),
});
