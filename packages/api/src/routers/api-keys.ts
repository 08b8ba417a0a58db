import { z } from "zod";
import { API_KEY_SCOPES, scopeAllows } from "../auth/api-keys.ts";
import { keyOwner } from "../auth/principal.ts";
import { ApiError } from "../errors.ts";
import { issueApiKey, listApiKeys, revokeApiKey } from "../services/api-keys.ts";
import { adminProcedure, changingAccess, router } from "../trpc.ts";
import { id, name } from "./schemas.ts";

export const apiKeysRouter = router({
  /** The key itself is returned once, here, and never again. */
  create: adminProcedure
    .input(
      z.object({
        name,
        scope: z.enum(API_KEY_SCOPES).default("DEVELOPER"),
        expiresInDays: z.number().int().min(1).max(3650).optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      if (!scopeAllows(ctx.principal.scope, input.scope))
        throw new ApiError(
          "FORBIDDEN",
          `scope: a key cannot exceed its owner's role (${ctx.principal.scope.toLowerCase()})`,
          {
            path: "scope",
          },
        );
      return issueApiKey(ctx.services.resources, ctx.workspaceId, keyOwner(ctx.principal.actor), input);
    }),
  list: adminProcedure.query(({ ctx }) => listApiKeys(ctx.services.resources, ctx.workspaceId)),
  revoke: adminProcedure
    .input(z.object({ id }))
    .mutation(({ ctx, input }) =>
      changingAccess(ctx, revokeApiKey(ctx.services.resources, ctx.workspaceId, input.id, ctx.principal.apiKeyId)),
    ),
});
