// The collisions loop: deployments whose collision strategy is cancel-new cancel a due run that
// finds the deployment at its concurrency limit, rather than leave it waiting for a slot.
import type { Resources } from "../resources.ts";
import { proposeForLockedRuns } from "../run-state/changes.ts";
import { ACTIVE_STATES_SQL, runColumns } from "../run-state/rows.ts";

const CANCELLED_MESSAGE = "cancelled: the deployment was at its concurrency limit (collision strategy cancel-new)";

export function cancelCollidingRuns(res: Resources, now = new Date()): Promise<number> {
  return proposeForLockedRuns(
    res,
    {
      text: `SELECT ${runColumns("fr")}, fr.xmin::text AS version
               FROM "FlowRun" fr JOIN "Deployment" d ON d.id = fr."deploymentId"
              WHERE d."collisionStrategy" = 'CANCEL_NEW' AND d."concurrencyLimit" IS NOT NULL
                AND fr."stateType" = 'SCHEDULED' AND fr."nextScheduledTime" <= $1
                AND (SELECT count(*) FROM "FlowRun" a WHERE a."deploymentId" = d.id AND a."stateType" IN ${ACTIVE_STATES_SQL}) >= d."concurrencyLimit"
              LIMIT 1000 FOR UPDATE OF fr SKIP LOCKED`,
      values: [now],
    },
    () => ({ type: "CANCELLED", name: "Cancelled", message: CANCELLED_MESSAGE }),
    now,
  );
}
