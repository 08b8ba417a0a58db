import { z } from "zod";
import { notFound } from "../errors.ts";
import { readProcedure, router } from "../trpc.ts";
import { id } from "./schemas.ts";

export const flowsRouter = router({
  list: readProcedure.query(async ({ ctx }) => {
    const flows = await ctx.db.flow.findMany({
      where: { workspaceId: ctx.workspaceId },
      orderBy: { id: "desc" },
      select: { id: true, name: true, tags: true, createdAt: true, _count: { select: { deployments: true } } },
    });
    return flows.map(({ _count, ...f }) => ({
      ...f,
      deployments: _count.deployments,
      createdAt: f.createdAt.toISOString(),
    }));
  }),
  get: readProcedure.input(z.object({ id })).query(async ({ ctx, input }) => {
    const f = await ctx.db.flow.findFirst({
      where: { id: input.id, workspaceId: ctx.workspaceId },
      select: { id: true, name: true, tags: true, createdAt: true },
    });
    if (!f) throw notFound("flow", input.id);
    return { ...f, createdAt: f.createdAt.toISOString() };
  }),
});
