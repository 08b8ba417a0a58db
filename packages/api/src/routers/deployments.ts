import { z } from "zod";
import type { Db } from "@flowplane/db";
import type pg from "pg";
import { ApiError, notFound } from "../errors.ts";
import { ScheduleError } from "@flowplane/core";
import { applyDeployment } from "../services/deployments.ts";
import { backfillDeployment } from "../services/scheduler/index.ts";
import { createFlowRun } from "../services/flow-runs/create.ts";
import { developerProcedure, readProcedure, router } from "../trpc.ts";
import { getFlowRun } from "./flow-runs.ts";
import { id, jsonObject, name } from "./schemas.ts";

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

const deploymentSelect = {
  id: true,
  name: true,
  description: true,
  entrypoint: true,
  path: true,
  parameters: true,
  parameterSchema: true,
  jobVariables: true,
  tags: true,
  paused: true,
  concurrencyLimit: true,
  collisionStrategy: true,
  catchup: true,
  createdAt: true,
  updatedAt: true,
  flowId: true,
  flow: { select: { name: true } },
  workPoolId: true,
  workPool: { select: { name: true, type: true } },
  workQueue: { select: { name: true } },
  currentVersionId: true,
  schedules: {
    select: {
      id: true,
      kind: true,
      cron: true,
      intervalSeconds: true,
      anchorDate: true,
      rrule: true,
      timezone: true,
      active: true,
      parameters: true,
    },
    orderBy: { createdAt: "asc" as const },
  },
} as const;

export async function findDeployment(db: Db, workspaceId: string, ref: { id?: string; name?: string }) {
  if (ref.id) {
    const d = await db.deployment.findFirst({ where: { id: ref.id, workspaceId }, select: deploymentSelect });
    if (!d) throw notFound("deployment", ref.id);
    return d;
  }
  const [flowName, deploymentName] = (ref.name ?? "").split("/");
  const d = await db.deployment.findFirst({
    where: { workspaceId, name: deploymentName, flow: { name: flowName } },
    select: deploymentSelect,
  });
  if (!d) throw new ApiError("NOT_FOUND", `deployment "${ref.name}" not found`, { path: "name" });
  return d;
}

/**
 * The deployment's id and flow name, by id or FLOW/DEPLOYMENT name, in one lean statement: running
 * a deployment needs nothing else before the run exists, and that lookup is the start of every
 * on-demand run's pickup latency.
 */
async function deploymentToRun(
  pool: pg.Pool,
  workspaceId: string,
  ref: { id?: string; name?: string },
): Promise<{ id: string; flowName: string }> {
  const [flowName, deploymentName] = (ref.name ?? "").split("/");
  const { rows } = await pool.query<{ id: string; flowName: string }>({
    name: "flowplane_deployment_to_run",
    text: `SELECT d.id, f.name AS "flowName" FROM "Deployment" d JOIN "Flow" f ON f.id = d."flowId"
            WHERE d."workspaceId" = $1 AND f."workspaceId" = $1 AND (CASE WHEN $2::uuid IS NOT NULL THEN d.id = $2::uuid ELSE f.name = $3 AND d.name = $4 END)`,
    values: [workspaceId, ref.id ?? null, flowName ?? null, deploymentName ?? null],
  });
  const d = rows[0];
  if (!d)
    throw ref.id
      ? notFound("deployment", ref.id)
      : new ApiError("NOT_FOUND", `deployment "${ref.name}" not found`, { path: "name" });
  return d;
}

type DeploymentRow = Awaited<ReturnType<typeof findDeployment>>;

function present(d: DeploymentRow) {
  const { flow, workPool, workQueue, ...rest } = d;
  return {
    ...rest,
    flowName: flow.name,
    qualifiedName: `${flow.name}/${d.name}`,
    workPoolName: workPool?.name ?? null,
    workPoolType: workPool?.type.toLowerCase() ?? null,
    workQueueName: workQueue?.name ?? null,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    schedules: d.schedules.map((s) => ({
      ...s,
      kind: s.kind.toLowerCase(),
      anchorDate: s.anchorDate?.toISOString() ?? null,
    })),
  };
}

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
        description: z.string().max(5000).nullish(),
        workPoolName: z.string().nullish(),
        workQueueName: z.string().nullish(),
        parameters: jsonObject.optional(),
        parameterSchema: jsonObject.nullish(),
        jobVariables: jsonObject.optional(),
        tags: z.array(z.string().max(100)).max(50).optional(),
        concurrencyLimit: z.number().int().min(1).nullish(),
        collisionStrategy: z.enum(["ENQUEUE", "CANCEL_NEW"]).optional(),
        catchup: z.boolean().optional(),
        paused: z.boolean().optional(),
        schedules: z.array(scheduleInput).max(20).optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      applyDeployment(ctx.db, ctx.workspaceId, input as Parameters<typeof applyDeployment>[2]),
    ),

  list: readProcedure.input(z.object({ flowName: z.string().optional() }).optional()).query(async ({ ctx, input }) => {
    const rows = await ctx.db.deployment.findMany({
      where: { workspaceId: ctx.workspaceId, ...(input?.flowName ? { flow: { name: input.flowName } } : {}) },
      orderBy: { id: "desc" },
      select: deploymentSelect,
    });
    return rows.map(present);
  }),

  get: readProcedure.input(refInput).query(async ({ ctx, input }) => {
    const d = await findDeployment(ctx.db, ctx.workspaceId, input);
    const versions = await ctx.db.deploymentVersion.findMany({
      where: { deploymentId: d.id, workspaceId: ctx.workspaceId },
      orderBy: { version: "desc" },
      take: 20,
      select: { id: true, version: true, contentHash: true, createdAt: true },
    });
    const upcoming = await ctx.db.flowRun.findMany({
      where: { deploymentId: d.id, workspaceId: ctx.workspaceId, stateType: "SCHEDULED" },
      orderBy: { nextScheduledTime: "asc" },
      take: 10,
      select: { id: true, name: true, nextScheduledTime: true, stateName: true },
    });
    return {
      ...present(d),
      versions: versions.map((v) => ({
        ...v,
        current: v.id === d.currentVersionId,
        createdAt: v.createdAt.toISOString(),
      })),
      upcomingRuns: upcoming.map((r) => ({ ...r, nextScheduledTime: r.nextScheduledTime?.toISOString() ?? null })),
    };
  }),

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
    .mutation(async ({ ctx, input }) => {
      const d = await deploymentToRun(ctx.pool, ctx.workspaceId, input);
      const created = await createFlowRun(ctx.services.resources, ctx.workspaceId, {
        flowName: d.flowName,
        deploymentId: d.id,
        parameters: input.parameters ?? {},
        ...(input.jobVariables ? { jobVariables: input.jobVariables } : {}),
        ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
        state: {
          type: "SCHEDULED",
          ...(input.scheduledTime ? { details: { scheduledTime: input.scheduledTime } } : {}),
        },
      });
      return getFlowRun(ctx.db, ctx.workspaceId, created.id);
    }),

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
    .mutation(async ({ ctx, input }) => {
      const from = new Date(input.from);
      const to = new Date(input.to);
      if (to <= from) throw new ApiError("INVALID_INPUT", "to: must be after from", { path: "to" });
      const d = await findDeployment(ctx.db, ctx.workspaceId, input);
      if (d.schedules.length === 0)
        throw new ApiError("PRECONDITION_FAILED", `deployment ${d.flow.name}/${d.name} has no schedule to backfill`, {
          path: "name",
        });
      try {
        return await backfillDeployment(ctx.services.resources, ctx.workspaceId, d.id, from, to, MAX_BACKFILL_SLOTS);
      } catch (err) {
        if (err instanceof ScheduleError && err.code === "TOO_MANY_SLOTS") {
          throw new ApiError(
            "INVALID_INPUT",
            `from: the window holds more than ${MAX_BACKFILL_SLOTS} slots; backfill a shorter window at a time`,
            { path: "from" },
          );
        }
        throw err;
      }
    }),

  setPaused: developerProcedure
    .input(z.object({ id: id.optional(), name: qualifiedName.optional(), paused: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const d = await findDeployment(ctx.db, ctx.workspaceId, input);
      await ctx.db.deployment.update({ where: { id: d.id }, data: { paused: input.paused } });
      if (input.paused) {
        // A paused deployment's schedule stops: its future auto-scheduled runs go away.
        await ctx.db.flowRun.deleteMany({
          where: { workspaceId: ctx.workspaceId, deploymentId: d.id, autoScheduled: true, stateType: "SCHEDULED" },
        });
      }
      return present(await findDeployment(ctx.db, ctx.workspaceId, { id: d.id }));
    }),

  delete: developerProcedure.input(refInput).mutation(async ({ ctx, input }) => {
    const d = await findDeployment(ctx.db, ctx.workspaceId, input);
    await ctx.db.flowRun.deleteMany({
      where: { workspaceId: ctx.workspaceId, deploymentId: d.id, stateType: "SCHEDULED" },
    });
    await ctx.db.deployment.delete({ where: { id: d.id } });
    return { deleted: `${d.flow.name}/${d.name}` };
  }),
});
