// What the proposal hot path keeps per API instance: the runs this process wrote last, and the
// coalescers that turn one event-loop turn's reads and writes into one statement each.
import { isTerminal } from "@flowplane/core";
import type pg from "pg";
import { Coalescer } from "../coalescer.ts";
import type { VersionedRun } from "./rows.ts";
import { readFlowRuns, writeFlowRunStates, type VersionedWrite } from "./statements.ts";

export class RunStateCache {
  readonly recent = new RecentRuns();
  readonly reads: Coalescer<string, VersionedRun | null>;
  readonly writes: Coalescer<VersionedWrite, VersionedRun | null>;

  constructor(pool: pg.Pool) {
    this.reads = new Coalescer((ids) => readFlowRuns(pool, ids));
    this.writes = new Coalescer((writes) => writeFlowRunStates(pool, writes), { keyOf: (w) => w.run.id });
  }
}

/**
 * Runs this process wrote last, as written, so the next proposal for the run can skip its read.
 * Bounded; a finished run is forgotten, as is any entry a proposal takes (it is put back only by
 * that proposal's successful write).
 */
export class RecentRuns {
  private readonly runs = new Map<string, VersionedRun>();
  constructor(private readonly max = 10_000) {}

  take(workspaceId: string, flowRunId: string): VersionedRun | null {
    const key = `${workspaceId}/${flowRunId}`;
    const run = this.runs.get(key) ?? null;
    if (run) this.runs.delete(key);
    return run;
  }

  remember(run: VersionedRun): void {
    const key = `${run.workspaceId}/${run.id}`;
    this.runs.delete(key);
    if (isTerminal(run.stateType)) return;
    this.runs.set(key, run);
    if (this.runs.size > this.max) this.runs.delete(this.runs.keys().next().value!);
  }
}
