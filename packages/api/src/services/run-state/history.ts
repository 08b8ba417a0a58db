// A run's state history as the API answers it: every accepted state of one flow run or task run,
// oldest first (the order the states were accepted in; ids break ties within a millisecond).
import type { Resources } from "../resources.ts";

export async function stateHistory(
  res: Pick<Resources, "prisma">,
  workspaceId: string,
  run: { flowRunId: string } | { taskRunId: string },
) {
  const states = await res.prisma.state.findMany({
    where: { ...run, workspaceId },
    orderBy: [{ timestamp: "asc" }, { id: "asc" }],
    select: { id: true, type: true, name: true, timestamp: true, message: true, details: true },
  });
  return states.map((s) => ({ ...s, timestamp: s.timestamp.toISOString() }));
}
