// Everything a run sends to be recorded passes through here: log lines (the run logger and captured
// prints), flow and task run states (their messages carry errors and tracebacks), artifacts and
// sub-flow parameters. Each string in it has the run's resolved secret values replaced by `***`
// before it leaves the process, whichever tracker records it.
import type { StateInput } from "@flowplane/core";
import { runRedactor } from "../secrets.ts";
import type { ArtifactRecord, FlowRunStart, LogRecord, ProposalResult, TaskRunRecord, Tracker } from "./tracker.ts";

class RedactingTracker implements Tracker {
  constructor(private readonly inner: Tracker) {}

  startFlowRun(start: FlowRunStart) {
    return this.inner.startFlowRun({ ...start, parameters: runRedactor.deep(start.parameters) });
  }
  proposeFlowRunState(flowRunId: string, state: StateInput): Promise<ProposalResult> {
    return this.inner.proposeFlowRunState(flowRunId, runRedactor.deep(state));
  }
  recordTaskRun(taskRun: TaskRunRecord): void {
    this.inner.recordTaskRun(taskRun);
  }
  recordTaskRunState(taskRunId: string, state: StateInput): void {
    this.inner.recordTaskRunState(taskRunId, runRedactor.deep(state));
  }
  log(line: LogRecord): void {
    this.inner.log(runRedactor.empty ? line : { ...line, message: runRedactor.text(line.message) });
  }
  artifact(artifact: ArtifactRecord): void {
    this.inner.artifact(runRedactor.deep(artifact));
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
}

const wrapped = new WeakMap<Tracker, Tracker>();

/** `tracker` behind the run's redaction (one wrapper per tracker, so identity is stable). */
export function withRedaction(tracker: Tracker): Tracker {
  if (tracker instanceof RedactingTracker) return tracker;
  let outer = wrapped.get(tracker);
  if (!outer) {
    outer = new RedactingTracker(tracker);
    wrapped.set(tracker, outer);
  }
  return outer;
}
