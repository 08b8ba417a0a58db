import { z } from "zod";
import { ApiError } from "../errors.ts";
import { issueSessionToken } from "../auth/session-tokens.ts";
import { publicProcedure, readProcedure, router } from "../trpc.ts";

export const authRouter = router({
  /** Exchanges an API key for a short-lived dashboard session token. */
  createSession: publicProcedure.input(z.object({ apiKey: z.string().min(1) })).mutation(async ({ ctx, input }) => {
    const auth = await ctx.services.authenticator.authenticate(input.apiKey);
    if (!auth.ok) throw new ApiError("UNAUTHENTICATED", auth.reason, { path: "apiKey" });
    if (auth.principal.via !== "api-key")
      throw new ApiError("UNAUTHENTICATED", "a session can only be created from an API key", { path: "apiKey" });
    ctx.audit.principal = auth.principal;
    const { token, expiresAt } = await issueSessionToken(
      ctx.services.tokens,
      { kind: "api-key", apiKeyId: auth.principal.apiKeyId!, workspaceId: auth.principal.workspaceId },
      ctx.services.config.sessionTtlSeconds,
    );
    return {
      token,
      expiresAt: expiresAt.toISOString(),
      workspace: { id: auth.principal.workspaceId, name: auth.principal.workspaceName },
      scope: auth.principal.scope,
    };
  }),
  whoami: readProcedure.query(({ ctx }) => ({
    workspace: { id: ctx.principal.workspaceId, name: ctx.principal.workspaceName },
    organizationId: ctx.principal.organizationId,
    apiKeyId: ctx.principal.apiKeyId,
    actor: ctx.principal.actor,
    scope: ctx.principal.scope,
    via: ctx.principal.via,
  })),
});
