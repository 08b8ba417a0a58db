import { z } from "zod";
import { getFlow, listFlows } from "../services/flows.ts";
import { readProcedure, router } from "../trpc.ts";
import { id } from "./schemas.ts";

export const flowsRouter = router({
  list: readProcedure.query(({ ctx }) => listFlows(ctx.services.resources, ctx.workspaceId)),
  get: readProcedure
    .input(z.object({ id }))
    .query(({ ctx, input }) => getFlow(ctx.services.resources, ctx.workspaceId, input.id)),
});
