// Reading artifacts (ingestion.ts writes them).
import type { Resources } from "./resources.ts";

/** A run's artifacts oldest first, or the workspace's newest first; optionally one key's. */
export async function listArtifacts(
  res: Resources,
  workspaceId: string,
  input: { flowRunId?: string | undefined; key?: string | undefined; limit: number },
) {
  const rows = await res.prisma.artifact.findMany({
    where: {
      workspaceId,
      ...(input.flowRunId ? { flowRunId: input.flowRunId } : {}),
      ...(input.key ? { key: input.key } : {}),
    },
    // Artifacts of one batch share createdAt (the insert's now()); their ids are the SDK's
    // UUIDv7s, made in creation order, so they break the tie.
    orderBy: input.flowRunId ? [{ createdAt: "asc" }, { id: "asc" }] : [{ createdAt: "desc" }, { id: "desc" }],
    take: input.limit,
    select: {
      id: true,
      flowRunId: true,
      taskRunId: true,
      key: true,
      type: true,
      description: true,
      data: true,
      createdAt: true,
    },
  });
  return rows.map((a) => ({ ...a, createdAt: a.createdAt.toISOString() }));
}
