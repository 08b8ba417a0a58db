// The late-runs loop: SCHEDULED runs past their start are renamed Late (still claimable), so
// dashboards show the backlog.
import type { Resources } from "../resources.ts";
import { proposeForLockedRuns } from "../run-state/changes.ts";
import { RUN_COLUMNS } from "../run-state/rows.ts";

/** Runs per transaction: keeps each one short; a backlog takes a few batches. */
const BATCH = 1_000;

export async function markLateRuns(res: Resources, lateAfterSeconds: number, now = new Date()): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < 50; batch++) {
    const marked = await proposeForLockedRuns(
      res,
      {
        text: `SELECT ${RUN_COLUMNS}, xmin::text AS version FROM "FlowRun"
                WHERE "stateType" = 'SCHEDULED' AND "stateName" = 'Scheduled'
                  AND "nextScheduledTime" < $1::timestamptz - make_interval(secs => $2::int)
                LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        values: [now, lateAfterSeconds],
      },
      () => ({ type: "SCHEDULED", name: "Late" }),
      now,
    );
    total += marked;
    if (marked < BATCH) break;
  }
  return total;
}
