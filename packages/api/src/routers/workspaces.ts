import { z } from "zod";
import { createNamedWorkspace, currentWorkspace } from "../services/workspaces.ts";
import { adminProcedure, readProcedure, router } from "../trpc.ts";
import { name } from "./schemas.ts";

export const workspacesRouter = router({
  current: readProcedure.query(({ ctx }) => currentWorkspace(ctx.services.resources, ctx.workspaceId)),
  /** Creates a workspace of the caller's organisation and its first admin key (shown once). */
  create: adminProcedure
    .input(z.object({ name }))
    .mutation(({ ctx, input }) =>
      createNamedWorkspace(ctx.services.resources, ctx.principal.organizationId, input.name),
    ),
});
