import { z } from "zod";
import { API_KEY_SCOPES } from "../auth/api-keys.ts";
import { issueApiKey, listApiKeys, revokeApiKey } from "../services/api-keys.ts";
import { adminProcedure, router } from "../trpc.ts";
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
    .mutation(({ ctx, input }) => issueApiKey(ctx.services.resources, ctx.workspaceId, input)),
  list: adminProcedure.query(({ ctx }) => listApiKeys(ctx.services.resources, ctx.workspaceId)),
  revoke: adminProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => {
    const revoked = await revokeApiKey(ctx.services.resources, ctx.workspaceId, input.id, ctx.principal.apiKeyId);
    ctx.services.authenticator.invalidate();
    return revoked;
  }),
});
