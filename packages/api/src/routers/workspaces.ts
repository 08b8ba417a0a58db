import { z } from "zod";
import { ApiError } from "../errors.ts";
import { createWorkspace } from "../services/workspaces.ts";
import { adminProcedure, readProcedure, router } from "../trpc.ts";
import { name } from "./schemas.ts";

export const workspacesRouter = router({
  current: readProcedure.query(async ({ ctx }) => {
    const ws = await ctx.db.workspace.findUniqueOrThrow({
      where: { id: ctx.workspaceId },
      select: { id: true, name: true, createdAt: true },
    });
    return { ...ws, createdAt: ws.createdAt.toISOString() };
  }),
  /** Creates a workspace and its first admin key (shown once). */
  create: adminProcedure.input(z.object({ name })).mutation(async ({ ctx, input }) => {
    const existing = await ctx.db.workspace.findUnique({ where: { name: input.name }, select: { id: true } });
    if (existing) throw new ApiError("CONFLICT", `name: workspace "${input.name}" already exists`, { path: "name" });
    const created = await createWorkspace(ctx.db, input.name);
    return { workspace: { id: created.workspace.id, name: created.workspace.name }, apiKey: created.apiKey };
  }),
});
