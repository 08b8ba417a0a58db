// Reading flows (they are registered by name when their first run or deployment is created).
import { notFound } from "../errors.ts";
import type { Resources } from "./resources.ts";

export async function listFlows(res: Resources, workspaceId: string) {
  const flows = await res.prisma.flow.findMany({
    where: { workspaceId },
    orderBy: { id: "desc" },
    select: { id: true, name: true, tags: true, createdAt: true, _count: { select: { deployments: true } } },
  });
  return flows.map(({ _count, ...f }) => ({
    ...f,
    deployments: _count.deployments,
    createdAt: f.createdAt.toISOString(),
  }));
}

export async function getFlow(res: Resources, workspaceId: string, flowId: string) {
  const f = await res.prisma.flow.findFirst({
    where: { id: flowId, workspaceId },
    select: { id: true, name: true, tags: true, createdAt: true },
  });
  if (!f) throw notFound("flow", flowId);
  return { ...f, createdAt: f.createdAt.toISOString() };
}
