import { z } from "zod";
import { ApiError, notFound } from "../errors.ts";
import { API_KEY_SCOPES } from "../auth/api-keys.ts";
import { createApiKey } from "../services/workspaces.ts";
import { adminProcedure, router } from "../trpc.ts";
import { id, name } from "./schemas.ts";

const keyView = {
  id: true,
  name: true,
  prefix: true,
  scope: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  createdAt: true,
} as const;

function present(k: {
  id: string;
  name: string;
  prefix: string;
  scope: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}) {
  const now = Date.now();
  return {
    ...k,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    createdAt: k.createdAt.toISOString(),
    status: k.revokedAt ? "revoked" : k.expiresAt && k.expiresAt.getTime() <= now ? "expired" : "active",
  };
}

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
    .mutation(async ({ ctx, input }) => {
      const { key, row } = await createApiKey(ctx.db, ctx.workspaceId, input.name, input.scope, input.expiresInDays);
      return { key, apiKey: present(row) };
    }),
  list: adminProcedure.query(async ({ ctx }) => {
    const rows = await ctx.db.apiKey.findMany({
      where: { workspaceId: ctx.workspaceId },
      orderBy: { id: "desc" },
      select: keyView,
    });
    return rows.map(present);
  }),
  revoke: adminProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) => {
    const key = await ctx.db.apiKey.findFirst({
      where: { id: input.id, workspaceId: ctx.workspaceId },
      select: { id: true, revokedAt: true },
    });
    if (!key) throw notFound("API key", input.id);
    if (input.id === ctx.principal.apiKeyId)
      throw new ApiError("PRECONDITION_FAILED", "id: a key cannot revoke itself; use another admin key", {
        path: "id",
      });
    const row = await ctx.db.apiKey.update({
      where: { id: key.id },
      data: { revokedAt: key.revokedAt ?? new Date() },
      select: keyView,
    });
    ctx.services.authenticator.invalidate();
    return present(row);
  }),
});
