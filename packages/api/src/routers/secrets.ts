// Secrets: people and CI manage them and see metadata; only runs and workers read values.
import { z } from "zod";
import { requireApiKey } from "../auth/principal.ts";
import { SECRET_NAME_RE } from "@flowplane/core";
import { SealedValueError } from "../crypto/envelope.ts";
import { ApiError } from "../errors.ts";
import {
  deleteSecret,
  listSecretReads,
  listSecrets,
  runForSecretRead,
  readSecretValues,
  rotateMasterKey,
  setSecret,
} from "../services/secrets.ts";
import { adminProcedure, developerProcedure, readProcedure, router, runtimeProcedure } from "../trpc.ts";
import { claimToken, id, proposerOf } from "./schemas.ts";

export const secretName = z
  .string()
  .regex(SECRET_NAME_RE, "use letters, digits and '_', starting with a letter or '_' (at most 128)");

/** 64 KiB: certificates and service-account files fit; a secret is not a blob store. */
const MAX_SECRET_BYTES = 65_536;

export const secretsRouter = router({
  set: developerProcedure
    .input(z.object({ name: secretName, value: z.string().min(1, "must not be empty") }))
    .mutation(async ({ ctx, input }) => {
      if (Buffer.byteLength(input.value) > MAX_SECRET_BYTES)
        throw new ApiError("INVALID_INPUT", `value: at most ${MAX_SECRET_BYTES} bytes`, { path: "value" });
      return setSecret(ctx.services.resources, ctx.services.masterKeys, {
        workspaceId: ctx.workspaceId,
        name: input.name,
        value: input.value,
        apiKeyId: ctx.principal.apiKeyId,
      });
    }),
  list: readProcedure.query(({ ctx }) => listSecrets(ctx.services.resources, ctx.workspaceId)),
  reads: readProcedure
    .input(z.object({ name: secretName, limit: z.number().int().min(1).max(1000).default(100) }))
    .query(({ ctx, input }) => listSecretReads(ctx.services.resources, ctx.workspaceId, input.name, input.limit)),
  delete: developerProcedure.input(z.object({ name: secretName })).mutation(async ({ ctx, input }) => {
    await deleteSecret(ctx.services.resources, ctx.workspaceId, input.name);
    return { name: input.name, deleted: true };
  }),
  /**
   * Values for a flow run that is being started or is running: to the worker holding its claim,
   * what its job variables reference; to the run's own token, also what its parameters and pull
   * steps reference and what its deployment declares its code asks for (runForSecretRead). Each
   * read is recorded with the run, the worker that holds it and who read it.
   */
  resolveForRun: runtimeProcedure
    .input(z.object({ flowRunId: id, names: z.array(secretName).min(1).max(100), claimToken }))
    .mutation(async ({ ctx, input }) => {
      const run = await runForSecretRead(
        ctx.services.resources,
        ctx.workspaceId,
        input.flowRunId,
        proposerOf(ctx.principal, input.claimToken),
        input.names,
      );
      return readSecretValues(
        ctx.services.resources,
        ctx.services.masterKeys,
        {
          workspaceId: ctx.workspaceId,
          apiKeyId: requireApiKey(ctx.principal, "reading secret values"),
          flowRunId: input.flowRunId,
          workerId: run.workerId,
          reader: run.reader,
        },
        input.names,
      );
    }),
  /**
   * Re-wraps every data key with the server's current master key (FLOWPLANE_MASTER_KEY), after which
   * the previous master keys can be removed from FLOWPLANE_MASTER_KEY_PREVIOUS. The master key is
   * the server's, so this covers every workspace; values are not re-encrypted or revealed.
   */
  rotateMasterKey: adminProcedure.mutation(async ({ ctx }) => {
    try {
      return await rotateMasterKey(ctx.services.resources, ctx.services.masterKeys);
    } catch (err) {
      if (err instanceof SealedValueError)
        throw new ApiError(
          "PRECONDITION_FAILED",
          `a value was sealed with master key ${err.masterKeyId ?? "(unknown)"}, which this server does not have; add it to FLOWPLANE_MASTER_KEY_PREVIOUS and restart; nothing was changed`,
        );
      throw err;
    }
  }),
});
