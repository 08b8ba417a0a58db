// Deployments: `flowplane deploy` upserts one; a new DeploymentVersion is recorded only when the
// deployed content changed, and runs remember the version they ran.
import { createHash } from "node:crypto";
import { uuidv7, validateSchedule, type ScheduleSpec } from "@flowplane/core";
import type { Db } from "@flowplane/db";
import { ApiError } from "../errors.ts";

export interface DeploymentSpec {
  flowName: string;
  name: string;
  entrypoint: string;
  path?: string | null;
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
