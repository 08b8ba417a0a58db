// A tracker that keeps every record in memory for inspection: the SDK's own way to observe runs in
// tests (and in tools that embed the engine). It orchestrates flow runs with the same local rules
// as LocalTracker; `decide` lets a test play the control plane's part (WAIT, ABORT, REJECT…).
import type { State, StateInput } from "@flowplane/core";
import { LocalFlowRunBook, toState, type LocalFlowRun } from "./local-orchestration.ts";
import type {
  ArtifactRecord,
  FlowRunInfo,
  FlowRunStart,
  LogRecord,
  ProposalResult,
  TaskRunRecord,
  Tracker,
} from "./tracker.ts";

export interface MemoryTaskRun {
  readonly record: TaskRunRecord;
  readonly states: State[];
}

export interface MemoryProposal {
  flowRunId: string;
  proposed: StateInput;
  result: ProposalResult;
}

export interface MemoryTrackerOptions {
  /**
   * Answers a flow-run proposal instead of the server's rules; return undefined to use them.
   * ACCEPT/REJECT answers are stored in the run's state history unless they restate its state.
   */
  decide?: (run: LocalFlowRun, proposed: StateInput) => ProposalResult | undefined;
}

export class MemoryTracker implements Tracker {
  readonly book = new LocalFlowRunBook();
  readonly taskRuns: MemoryTaskRun[] = [];
  readonly logs: LogRecord[] = [];
  readonly artifacts: ArtifactRecord[] = [];
  readonly proposals: MemoryProposal[] = [];
  flushes = 0;
  private readonly taskRunIndex = new Map<string, MemoryTaskRun>();

  constructor(private readonly options: MemoryTrackerOptions = {}) {}

  async startFlowRun(start: FlowRunStart): Promise<FlowRunInfo> {
    const run = this.book.start(start, (taskRunId) => {
      const parent = this.taskRunIndex.get(taskRunId);
      return parent ? this.book.runs.get(parent.record.flowRunId)?.rootId : undefined;
    });
    return { ...run.info };
  }

  async proposeFlowRunState(flowRunId: string, state: StateInput): Promise<ProposalResult> {
    const decide = this.options.decide;
    const result = this.book.propose(flowRunId, state, decide && ((run) => decide(run, state)));
    this.proposals.push({ flowRunId, proposed: state, result });
    return result;
  }

  recordTaskRun(taskRun: TaskRunRecord): void {
    const entry: MemoryTaskRun = { record: taskRun, states: [] };
    this.taskRuns.push(entry);
    this.taskRunIndex.set(taskRun.id, entry);
  }

  recordTaskRunState(taskRunId: string, state: StateInput): void {
    const entry = this.taskRunIndex.get(taskRunId);
    if (entry === undefined) throw new Error(`state for unknown task run ${taskRunId}`);
    entry.states.push(toState(state));
  }

  log(line: LogRecord): void {
    this.logs.push(line);
  }

  artifact(artifact: ArtifactRecord): void {
    this.artifacts.push(artifact);
  }

  async flush(): Promise<void> {
    this.flushes++;
  }

  // ---- inspection helpers -------------------------------------------------------------------

  get flowRuns(): LocalFlowRun[] {
    return [...this.book.runs.values()];
  }

  flowRun(id: string): LocalFlowRun {
    const run = this.book.runs.get(id);
    if (run === undefined) throw new Error(`no flow run ${id}`);
    return run;
  }

  /** Flow runs of the flow with this name, in start order. */
  flowRunsNamed(flowName: string): LocalFlowRun[] {
    return this.flowRuns.filter((r) => r.start.flowName === flowName);
  }

  taskRun(id: string): MemoryTaskRun {
    const run = this.taskRunIndex.get(id);
    if (run === undefined) throw new Error(`no task run ${id}`);
    return run;
  }

  taskRunsOf(flowRunId: string): MemoryTaskRun[] {
    return this.taskRuns.filter((t) => t.record.flowRunId === flowRunId);
  }

  /** State names of a flow run or task run in order, e.g. ["Pending", "Running", "Completed"]. */
  stateNames(runId: string): string[] {
    const states = this.book.runs.get(runId)?.states ?? this.taskRunIndex.get(runId)?.states;
    if (states === undefined) throw new Error(`no run ${runId}`);
    return states.map((s) => s.name);
  }

  logsOf(runId: string): LogRecord[] {
    return this.logs.filter((l) => l.taskRunId === runId || (l.flowRunId === runId && l.taskRunId === undefined));
  }
}
