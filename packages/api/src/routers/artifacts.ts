import { z } from "zod";
import { listArtifacts } from "../services/artifacts.ts";
import { readProcedure, router } from "../trpc.ts";
import { id } from "./schemas.ts";

export const artifactsRouter = router({
  list: readProcedure
    .input(
      z.object({
        flowRunId: id.optional(),
        key: z.string().optional(),
        limit: z.number().int().min(1).max(500).default(100),
      }),
    )
    .query(({ ctx, input }) => listArtifacts(ctx.services.resources, ctx.workspaceId, input)),
});
