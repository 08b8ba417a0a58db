// Secrets: people and CI manage them and see metadata; runs and workers read values at run time,
// and `flowplane deploy` reads the ones a workspace admin allowed at deploy, for build and push steps.
import { z } from "zod";
import { requireApiKey } from "../auth/principal.ts";
import { SECRET_NAME_RE } from "@flowplane/core";
import { SealedValueError } from "../crypto/envelope.ts";
import { ApiError } from "../errors.ts";
import {
  deleteSecret,
  listSecretReads,
  listSecrets,
  readSecretsForDeploy,
  runForSecretRead,
  readSecretValues,
  rotateMasterKey,
  setSecret,
  setSecretAllowDeploy,
} from "../services/secrets.ts";
import { adminProcedure, developerProcedure, readProcedure, router, runtimeProcedure } from "../trpc.ts";
import { claimToken, id, proposerOf } from "./schemas.ts";

export const secretName = z
  .string()
  .regex(SECRET_NAME_RE, "use letters, digits and '_', starting with a letter or '_' (at most 128)");

/** 64 KiB: certificates and service-account files fit; a secret is not a blob store. */
const MAX_SECRET_BYTES = 65_536;

/** A build or push step of flowplane.yaml that references secrets (what deploy's refusals and reads name). */
const deployStep = z.object({
  phase: z.enum(["build", "push"]),
  /** 0-based position in its phase's list. */
  index: z.number().int().min(0).max(999),
  step: z.string().regex(/^[a-z_]{1,40}$/, "a step name such as docker_push"),
  id: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,62}$/, "a step id")
    .nullable(),
  names: z.array(secretName).min(1).max(50),
});

export const secretsRouter = router({
  /** `allowDeploy`, when given, needs a workspace admin (as setAllowDeploy does). */
  set: developerProcedure
    .input(
      z.object({
        name: secretName,
        value: z.string().min(1, "must not be empty"),
        allowDeploy: z.boolean().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      if (Buffer.byteLength(input.value) > MAX_SECRET_BYTES)
        throw new ApiError("INVALID_INPUT", `value: at most ${MAX_SECRET_BYTES} bytes`, { path: "value" });
      if (input.allowDeploy !== undefined && ctx.principal.scope !== "ADMIN")
        throw new ApiError(
          "FORBIDDEN",
          `allowDeploy: only a workspace admin may allow or disallow a secret at deploy; yours is a ${ctx.principal.scope.toLowerCase()} ${ctx.principal.via === "session" ? "session" : "key"} (nothing was changed)`,
          { path: "allowDeploy" },
        );
      return setSecret(ctx.services.resources, ctx.services.masterKeys, {
        workspaceId: ctx.workspaceId,
        name: input.name,
        value: input.value,
        apiKeyId: ctx.principal.apiKeyId,
        ...(input.allowDeploy !== undefined ? { allowDeploy: input.allowDeploy } : {}),
      });
    }),
  /**
   * Whether `flowplane deploy` may read the secret for build and push steps (resolveForDeploy).
   * Workspace admins only: it widens who reads the value from runs and workers to deployers.
   */
  setAllowDeploy: adminProcedure
    .input(z.object({ name: secretName, allowDeploy: z.boolean() }))
    .mutation(({ ctx, input }) =>
      setSecretAllowDeploy(ctx.services.resources, ctx.workspaceId, input.name, input.allowDeploy),
    ),
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
      // Secret values are never returned to people: a worker key a person owns (an admin may create
      // one with `api-key create --scope worker`) is the person, and so is a run token issued to it
      // (a run token acts for its worker key's owner), so both are refused before anything is read.
      if (ctx.principal.actor.type === "user")
        throw new ApiError(
          "FORBIDDEN",
          `secret values are never given to people, and ${ctx.principal.via === "run" ? "this run token was issued to a worker key" : "this worker key is"} owned by the person ${ctx.principal.actor.email}; run workers with a worker key of a service account (dashboard → Service accounts → create key, scope worker)`,
        );
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
   * Values for the build and push steps `flowplane deploy` runs on the deployer's machine (a
   * docker_push's registry password): to whoever may deploy (developer keys and people with the
   * developer role or above; never READ keys, worker keys or run tokens), only to service accounts
   * (CI; never to a person's sign-in or a person's own key), and only secrets a
   * workspace admin allowed at deploy; otherwise nothing, and the refusal names each secret and the
   * command that allows it. Each read is recorded per secret and step with the reader and the
   * deployments; the audit entry names the secrets and deployments.
   */
  resolveForDeploy: developerProcedure
    .input(
      z.object({
        /** `FLOW/DEPLOYMENT` of each deployment being deployed with these steps. */
        deploymentNames: z.array(z.string().min(1).max(300)).min(1).max(100),
        steps: z.array(deployStep).min(1).max(100),
      }),
    )
    .mutation(({ ctx, input }) => {
      const names = [...new Set(input.steps.flatMap((s) => s.names))].sort();
      ctx.audit.target = { names, deploymentNames: input.deploymentNames };
      const actor = ctx.principal.actor;
      // Secret values are never returned to people (the product's promise): deploy-time steps that
      // need one run in CI, as a service account. A person's sign-in or their own key is refused.
      if (actor.type !== "service-account")
        throw new ApiError(
          "FORBIDDEN",
          "build and push steps read secrets only as a service account (CI), never as a person; deploy from CI with a key of a service account with the developer role (dashboard → Service accounts), or pass the value from your CI's secret store as {{ env.NAME }}",
        );
      return readSecretsForDeploy(
        ctx.services.resources,
        ctx.services.masterKeys,
        { workspaceId: ctx.workspaceId, apiKeyId: ctx.principal.apiKeyId, serviceAccountId: actor.id },
        {
          deployments: input.deploymentNames,
          steps: input.steps.map((s) => ({
            step: `${s.phase} step ${s.index + 1} (${s.step}${s.id ? ` "${s.id}"` : ""})`,
            names: s.names,
          })),
        },
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
