// Variables: named JSON values for non-secret configuration.
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { deleteVariable, getVariable, getVariableValues, listVariables, setVariable } from "../services/variables.ts";
import { developerProcedure, readProcedure, router, runReadProcedure } from "../trpc.ts";
import { secretName } from "./secrets.ts";

const MAX_VARIABLE_BYTES = 65_536;

export const variablesRouter = router({
  set: developerProcedure.input(z.object({ name: secretName, value: z.json() })).mutation(({ ctx, input }) => {
    if (input.value === null) throw new ApiError("INVALID_INPUT", "value: must not be null", { path: "value" });
    if (Buffer.byteLength(JSON.stringify(input.value)) > MAX_VARIABLE_BYTES)
      throw new ApiError("INVALID_INPUT", `value: at most ${MAX_VARIABLE_BYTES} bytes of JSON`, { path: "value" });
    return setVariable(ctx.services.resources, {
      workspaceId: ctx.workspaceId,
      name: input.name,
      value: input.value,
      apiKeyId: ctx.principal.apiKeyId,
    });
  }),
  get: runReadProcedure
    .input(z.object({ name: secretName }))
    .query(({ ctx, input }) => getVariable(ctx.services.resources, ctx.workspaceId, input.name)),
  /** Several at once, for references; names with no variable come back in `missing`. */
  getMany: runReadProcedure
    .input(z.object({ names: z.array(secretName).min(1).max(100) }))
    .query(({ ctx, input }) => getVariableValues(ctx.services.resources, ctx.workspaceId, input.names)),
  list: readProcedure.query(({ ctx }) => listVariables(ctx.services.resources, ctx.workspaceId)),
  delete: developerProcedure.input(z.object({ name: secretName })).mutation(async ({ ctx, input }) => {
    await deleteVariable(ctx.services.resources, ctx.workspaceId, input.name);
    return { name: input.name, deleted: true };
  }),
});
