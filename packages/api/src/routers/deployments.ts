import { z } from "zod";
import {
  backfill,
  deleteDeployment,
  getDeployment,
  listDeployments,
  runDeployment,
  setDeploymentPaused,
  upsertDeployment,
  type DeploymentSpec,
} from "../services/deployments.ts";
import { developerProcedure, readProcedure, router } from "../trpc.ts";
import { id, jsonObject, name } from "./schemas.ts";
import { secretName } from "./secrets.ts";

const scheduleInput = z.object({
  kind: z.enum(["cron", "interval", "rrule"]),
  cron: z.string().optional(),
  intervalSeconds: z.number().optional(),
  anchorDate: z.string().optional(),
  rrule: z.string().optional(),
  timezone: z.string().optional(),
  active: z.boolean().optional(),
  parameters: jsonObject.optional(),
});

const MAX_BACKFILL_SLOTS = 10_000;

/** `FLOW/DEPLOYMENT`, as users type it. */
const qualifiedName = z.string().regex(/^[^/]+\/[^/]+$/, "expected FLOW/DEPLOYMENT");

const refInput = z
  .object({ id: id.optional(), name: qualifiedName.optional() })
  .refine((r) => r.id || r.name, { message: "give id or name" });

export const deploymentsRouter = router({
  /** Creates or updates a deployment (what `flowplane deploy` calls). */
  upsert: developerProcedure
    .input(
      z.object({
        flowName: z.string().min(1).max(200),
        name,
        entrypoint: z.string().min(1).max(1000),
        path: z.string().max(1000).nullish(),
        // Checked step by step by the CLI (its schema names each field in flowplane.yaml); here
        // only the shape a worker relies on: a list of one-key step objects.
        pullSteps: z.array(jsonObject).max(50).nullish(),
        codeVersion: z.string().min(1).max(500).nullish(),
        description: z.string().max(5000).nullish(),
        workPoolName: z.string().nullish(),
        workQueueName: z.string().nullish(),
        parameters: jsonObject.optional(),
        parameterSchema: jsonObject.nullish(),
        jobVariables: jsonObject.optional(),
        /** Secrets the flow's code may ask for (getSecret); a run's token reads no others. */
        secrets: z.array(secretName).max(100).optional(),
        tags: z.array(z.string().max(100)).max(50).optional(),
        concurrencyLimit: z.number().int().min(1).nullish(),
        collisionStrategy: z.enum(["ENQUEUE", "CANCEL_NEW"]).optional(),
        catchup: z.boolean().optional(),
        paused: z.boolean().optional(),
        schedules: z.array(scheduleInput).max(20).optional(),
      }),
    )
    .mutation(({ ctx, input }) => upsertDeployment(ctx.services.resources, ctx.workspaceId, input as DeploymentSpec)),

  list: readProcedure
    .input(z.object({ flowName: z.string().optional() }).optional())
    .query(({ ctx, input }) => listDeployments(ctx.services.resources, ctx.workspaceId, input?.flowName)),

  get: readProcedure
    .input(refInput)
    .query(({ ctx, input }) => getDeployment(ctx.services.resources, ctx.workspaceId, input)),

  run: developerProcedure
    .input(
      z.object({
        id: id.optional(),
        name: qualifiedName.optional(),
        parameters: jsonObject.optional(),
        jobVariables: jsonObject.optional(),
        scheduledTime: z.iso.datetime({ offset: true }).optional(),
        idempotencyKey: z.string().max(500).optional(),
      }),
    )
    .mutation(({ ctx, input }) => runDeployment(ctx.services.resources, ctx.workspaceId, input)),

  /** One run per schedule slot in [from, to); repeating it creates nothing new. */
  backfill: developerProcedure
    .input(
      z.object({
        id: id.optional(),
        name: qualifiedName.optional(),
        from: z.iso.datetime({ offset: true }),
        to: z.iso.datetime({ offset: true }),
      }),
    )
    .mutation(({ ctx, input }) =>
      backfill(ctx.services.resources, ctx.workspaceId, input, {
        from: new Date(input.from),
        to: new Date(input.to),
        maxSlots: MAX_BACKFILL_SLOTS,
      }),
    ),

  setPaused: developerProcedure
    .input(z.object({ id: id.optional(), name: qualifiedName.optional(), paused: z.boolean() }))
    .mutation(({ ctx, input }) => setDeploymentPaused(ctx.services.resources, ctx.workspaceId, input, input.paused)),

  delete: developerProcedure
    .input(refInput)
    .mutation(({ ctx, input }) => deleteDeployment(ctx.services.resources, ctx.workspaceId, input)),
});
