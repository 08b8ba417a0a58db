// Deployments: `flowplane deploy` upserts one; a new DeploymentVersion is recorded only when the
// deployed content changed, and runs remember the version they ran.
import { createHash } from "node:crypto";
import { ScheduleError, uuidv7, validateSchedule, type ScheduleSpec } from "@flowplane/core";
import { Prisma, type Db } from "@flowplane/db";
import { ApiError, notFound } from "../errors.ts";
import { createFlowRun } from "./flow-runs/create.ts";
import { getFlowRun, type FlowRunView } from "./flow-runs/reads.ts";
import type { Resources } from "./resources.ts";
import { backfillDeployment, type BackfillResult } from "./scheduler/index.ts";

export interface DeploymentSpec {
  flowName: string;
  name: string;
  entrypoint: string;
  path?: string | null;
  /** Steps that fetch the code before each run (see Deployment.pullSteps), references unresolved. */
  pullSteps?: Record<string, unknown>[] | null;
  /** Secrets the flow's code may ask for by name (getSecret), beyond those its configuration references. */
  secrets?: string[];
  /** What the pull steps fetch (commit, bundle digest, image digest): part of the version. */
  codeVersion?: string | null;
  description?: string | null;
  workPoolName?: string | null;
  workQueueName?: string | null;
  parameters?: Record<string, unknown>;
  parameterSchema?: Record<string, unknown> | null;
  jobVariables?: Record<string, unknown>;
  tags?: string[];
  concurrencyLimit?: number | null;
  collisionStrategy?: "ENQUEUE" | "CANCEL_NEW";
  catchup?: boolean;
  paused?: boolean;
  schedules?: (ScheduleSpec & { active?: boolean; parameters?: Record<string, unknown> })[];
}

export interface ApplyResult {
  deploymentId: string;
  flowId: string;
  version: number;
  created: boolean;
  /** Top-level fields whose value changed (empty on a no-op redeploy). */
  changed: string[];
}

/** Stable JSON: object keys sorted, so equal content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

function versionContent(spec: DeploymentSpec) {
  return {
    entrypoint: spec.entrypoint,
    path: spec.path ?? null,
    pullSteps: spec.pullSteps ?? null,
    // Left out when none are declared, so content deployed before the field existed hashes as it did.
    secrets: spec.secrets?.length ? [...new Set(spec.secrets)].sort() : undefined,
    codeVersion: spec.codeVersion ?? null,
    description: spec.description ?? null,
    workPoolName: spec.workPoolName ?? null,
    workQueueName: spec.workQueueName ?? null,
    parameters: spec.parameters ?? {},
    parameterSchema: spec.parameterSchema ?? null,
    jobVariables: spec.jobVariables ?? {},
    tags: [...(spec.tags ?? [])].sort(),
    concurrencyLimit: spec.concurrencyLimit ?? null,
    collisionStrategy: spec.collisionStrategy ?? "ENQUEUE",
    catchup: spec.catchup ?? true,
    schedules: (spec.schedules ?? []).map((s) => ({ ...s, active: s.active ?? true, parameters: s.parameters ?? {} })),
  };
}

export function validateDeploymentSchedules(schedules: unknown[]): ScheduleSpec[] {
  return schedules.map((raw, i) => {
    const result = validateSchedule(raw);
    if (!result.ok) {
      const first = result.errors[0];
      const path = `schedules.${i}${first?.path ? `.${first.path}` : ""}`;
      throw new ApiError("INVALID_INPUT", `${path}: ${first?.message ?? "invalid schedule"}`, { path });
    }
    return result.spec;
  });
}

export async function applyDeployment(db: Db, workspaceId: string, spec: DeploymentSpec): Promise<ApplyResult> {
  const schedules = validateDeploymentSchedules(spec.schedules ?? []);
  let workPoolId: string | null = null;
  let workQueueId: string | null = null;
  if (spec.workPoolName) {
    const pool = await db.workPool.findUnique({
      where: { workspaceId_name: { workspaceId, name: spec.workPoolName } },
      select: { id: true, queues: { select: { id: true, name: true } } },
    });
    if (!pool)
      throw new ApiError(
        "INVALID_INPUT",
        `workPoolName: work pool "${spec.workPoolName}" does not exist (create it with \`flowplane work-pool create\`)`,
        { path: "workPoolName" },
      );
    workPoolId = pool.id;
    const queueName = spec.workQueueName ?? "default";
    const queue = pool.queues.find((q) => q.name === queueName);
    if (!queue)
      throw new ApiError(
        "INVALID_INPUT",
        `workQueueName: queue "${queueName}" does not exist in pool "${spec.workPoolName}"`,
        { path: "workQueueName" },
      );
    workQueueId = queue.id;
  } else if (spec.workQueueName) {
    throw new ApiError("INVALID_INPUT", "workQueueName: a queue needs a work pool", { path: "workQueueName" });
  }

  const content = versionContent(spec);
  const contentHash = createHash("sha256").update(canonicalJson(content)).digest("hex");

  return db.$transaction(async (tx) => {
    // Not Prisma's upsert (read, then insert): two first deploys of a flow at once would collide.
    await tx.$executeRaw`INSERT INTO "Flow" (id, "workspaceId", name, tags, "createdAt", "updatedAt")
      VALUES (${uuidv7()}::uuid, ${workspaceId}::uuid, ${spec.flowName}, '{}', now(), now()) ON CONFLICT ("workspaceId", name) DO NOTHING`;
    const flow = await tx.flow.findUniqueOrThrow({
      where: { workspaceId_name: { workspaceId, name: spec.flowName } },
      select: { id: true },
    });
    const existing = await tx.deployment.findUnique({
      where: { workspaceId_flowId_name: { workspaceId, flowId: flow.id, name: spec.name } },
      select: {
        id: true,
        currentVersionId: true,
        versions: {
          orderBy: { version: "desc" },
          take: 1,
          select: { id: true, version: true, contentHash: true, content: true },
        },
      },
    });
    const data = {
      description: spec.description ?? null,
      entrypoint: spec.entrypoint,
      path: spec.path ?? null,
      // A redeploy without pull steps clears them (undefined would keep the old ones).
      pullSteps: spec.pullSteps ? (spec.pullSteps as object[]) : Prisma.DbNull,
      secrets: [...new Set(spec.secrets ?? [])].sort(),
      codeVersion: spec.codeVersion ?? null,
      workPoolId,
      workQueueId,
      parameters: (spec.parameters ?? {}) as object,
      parameterSchema: (spec.parameterSchema ?? undefined) as object | undefined,
      jobVariables: (spec.jobVariables ?? {}) as object,
      tags: spec.tags ?? [],
      concurrencyLimit: spec.concurrencyLimit ?? null,
      collisionStrategy: spec.collisionStrategy ?? "ENQUEUE",
      catchup: spec.catchup ?? true,
      ...(spec.paused !== undefined ? { paused: spec.paused } : {}),
    };
    const deployment = existing
      ? await tx.deployment.update({ where: { id: existing.id }, data, select: { id: true } })
      : await tx.deployment.create({
          data: { ...data, workspaceId, flowId: flow.id, name: spec.name },
          select: { id: true },
        });

    const latest = existing?.versions[0];
    if (latest && latest.contentHash === contentHash) {
      return { deploymentId: deployment.id, flowId: flow.id, version: latest.version, created: false, changed: [] };
    }
    const previous = (latest?.content ?? {}) as Record<string, unknown>;
    const changed = Object.keys(content).filter(
      (k) => canonicalJson(previous[k]) !== canonicalJson((content as Record<string, unknown>)[k]),
    );
    const version = (latest?.version ?? 0) + 1;
    const row = await tx.deploymentVersion.create({
      data: { workspaceId, deploymentId: deployment.id, version, contentHash, content: content as object },
      select: { id: true },
    });
    await tx.deployment.update({ where: { id: deployment.id }, data: { currentVersionId: row.id } });

    if (changed.includes("schedules")) {
      // Changing or removing a schedule drops its future runs that have not started; the scheduler
      // creates the new ones on its next pass.
      await tx.flowRun.deleteMany({
        where: { workspaceId, deploymentId: deployment.id, autoScheduled: true, stateType: "SCHEDULED" },
      });
      await tx.deploymentSchedule.deleteMany({ where: { workspaceId, deploymentId: deployment.id } });
      for (const [i, s] of schedules.entries()) {
        const extra = spec.schedules?.[i];
        await tx.deploymentSchedule.create({
          data: {
            workspaceId,
            deploymentId: deployment.id,
            kind: s.kind === "cron" ? "CRON" : s.kind === "interval" ? "INTERVAL" : "RRULE",
            cron: s.kind === "cron" ? s.cron : null,
            intervalSeconds: s.kind === "interval" ? s.intervalSeconds : null,
            anchorDate: s.kind === "interval" && s.anchorDate ? new Date(s.anchorDate) : null,
            rrule: s.kind === "rrule" ? s.rrule : null,
            timezone: s.timezone ?? "UTC",
            active: extra?.active ?? true,
            parameters: (extra?.parameters ?? {}) as object,
          },
        });
      }
    }
    return {
      deploymentId: deployment.id,
      flowId: flow.id,
      version,
      created: !existing,
      changed: existing ? changed : Object.keys(content),
    };
  });
}

/** applyDeployment on the API's database (what `flowplane deploy` calls). */
export function upsertDeployment(res: Resources, workspaceId: string, spec: DeploymentSpec): Promise<ApplyResult> {
  return applyDeployment(res.prisma, workspaceId, spec);
}

// Reads and operations on existing deployments.

/** A deployment by id or by FLOW/DEPLOYMENT name. */
export interface DeploymentRef {
  id?: string | undefined;
  name?: string | undefined;
}

const deploymentSelect = {
  id: true,
  name: true,
  description: true,
  entrypoint: true,
  path: true,
  pullSteps: true,
  secrets: true,
  codeVersion: true,
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

async function findDeployment(res: Resources, workspaceId: string, ref: DeploymentRef) {
  const db = res.prisma;
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
  res: Resources,
  workspaceId: string,
  ref: DeploymentRef,
): Promise<{ id: string; flowName: string }> {
  const [flowName, deploymentName] = (ref.name ?? "").split("/");
  const { rows } = await res.pool.query<{ id: string; flowName: string }>({
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

export type DeploymentView = ReturnType<typeof present>;

export async function listDeployments(res: Resources, workspaceId: string, flowName?: string) {
  const rows = await res.prisma.deployment.findMany({
    where: { workspaceId, ...(flowName ? { flow: { name: flowName } } : {}) },
    orderBy: { id: "desc" },
    select: deploymentSelect,
  });
  return rows.map(present);
}

/** A deployment with its recent versions and next scheduled runs. */
export async function getDeployment(res: Resources, workspaceId: string, ref: DeploymentRef) {
  const d = await findDeployment(res, workspaceId, ref);
  const versions = await res.prisma.deploymentVersion.findMany({
    where: { deploymentId: d.id, workspaceId },
    orderBy: { version: "desc" },
    take: 20,
    select: { id: true, version: true, contentHash: true, createdAt: true },
  });
  const upcoming = await res.prisma.flowRun.findMany({
    where: { deploymentId: d.id, workspaceId, stateType: "SCHEDULED" },
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
}

/** A new run of the deployment, SCHEDULED now (or at `scheduledTime`). */
export async function runDeployment(
  res: Resources,
  workspaceId: string,
  input: DeploymentRef & {
    parameters?: Record<string, unknown> | undefined;
    jobVariables?: Record<string, unknown> | undefined;
    scheduledTime?: string | undefined;
    idempotencyKey?: string | undefined;
  },
): Promise<FlowRunView> {
  const d = await deploymentToRun(res, workspaceId, input);
  const created = await createFlowRun(res, workspaceId, {
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
  return getFlowRun(res, workspaceId, created.id);
}

/** One run per schedule slot in [from, to); repeating it creates nothing new. */
export async function backfill(
  res: Resources,
  workspaceId: string,
  ref: DeploymentRef,
  window: { from: Date; to: Date; maxSlots: number },
): Promise<BackfillResult> {
  if (window.to <= window.from) throw new ApiError("INVALID_INPUT", "to: must be after from", { path: "to" });
  const d = await findDeployment(res, workspaceId, ref);
  if (d.schedules.length === 0)
    throw new ApiError("PRECONDITION_FAILED", `deployment ${d.flow.name}/${d.name} has no schedule to backfill`, {
      path: "name",
    });
  try {
    return await backfillDeployment(res, workspaceId, d.id, window.from, window.to, window.maxSlots);
  } catch (err) {
    if (err instanceof ScheduleError && err.code === "TOO_MANY_SLOTS") {
      throw new ApiError(
        "INVALID_INPUT",
        `from: the window holds more than ${window.maxSlots} slots; backfill a shorter window at a time`,
        { path: "from" },
      );
    }
    throw err;
  }
}

/**
 * Pauses or resumes a deployment. A paused deployment's schedule stops: its future auto-scheduled
 * runs go away, in the same transaction as the pause (a scheduler pass between the two would
 * otherwise see an unpaused deployment with no future runs and create them again).
 */
export async function setDeploymentPaused(res: Resources, workspaceId: string, ref: DeploymentRef, paused: boolean) {
  const d = await findDeployment(res, workspaceId, ref);
  await res.prisma.$transaction([
    res.prisma.deployment.update({ where: { id: d.id }, data: { paused } }),
    ...(paused
      ? [
          res.prisma.flowRun.deleteMany({
            where: { workspaceId, deploymentId: d.id, autoScheduled: true, stateType: "SCHEDULED" },
          }),
        ]
      : []),
  ]);
  return present(await findDeployment(res, workspaceId, { id: d.id }));
}

/**
 * Deletes a deployment with its runs that have not started (nothing would ever claim them); runs
 * that started or finished keep their record. One transaction, so a failure leaves both.
 */
export async function deleteDeployment(res: Resources, workspaceId: string, ref: DeploymentRef) {
  const d = await findDeployment(res, workspaceId, ref);
  await res.prisma.$transaction([
    res.prisma.flowRun.deleteMany({ where: { workspaceId, deploymentId: d.id, stateType: "SCHEDULED" } }),
    res.prisma.deployment.delete({ where: { id: d.id } }),
  ]);
  return { deleted: `${d.flow.name}/${d.name}` };
}
