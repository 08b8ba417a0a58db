// The tracker for runs with no control plane: flow runs are orchestrated in-process with the
// server's rules, log lines are mirrored to stderr, and when an outermost flow run finishes a
// one-line summary is printed. Only what the summary needs is kept per task run, and a finished
// tree of runs is dropped, so a long-lived process running many flows does not grow.
import { isTerminal, StateNames, type State, type StateInput } from "@flowplane/core";
import { isQuiet } from "../config.ts";
import { consoleLine } from "../logging.ts";
import { LocalFlowRunBook, type LocalFlowRun } from "./local-orchestration.ts";
import type { FlowRunInfo, FlowRunStart, LogRecord, ProposalResult, TaskRunRecord, Tracker } from "./tracker.ts";

interface TaskEntry {
  readonly name: string;
  readonly rootId: string;
  type: State["type"] | undefined;
  stateName: string | undefined;
}

interface RootEntry {
  readonly flowRunIds: string[];
  readonly taskRunIds: string[];
}

export interface LocalTrackerOptions {
  /** Where the summary and mirrored logs go; stderr by default. */
  write?: (text: string) => void;
}

export class LocalTracker implements Tracker {
  private readonly book = new LocalFlowRunBook();
  private readonly tasks = new Map<string, TaskEntry>();
  private readonly roots = new Map<string, RootEntry>();
  private readonly write: (text: string) => void;

  constructor(options: LocalTrackerOptions = {}) {
    this.write = options.write ?? ((text) => void process.stderr.write(text));
  }

  async startFlowRun(start: FlowRunStart): Promise<FlowRunInfo> {
    const run = this.book.start(start, (taskRunId) => this.tasks.get(taskRunId)?.rootId);
    let root = this.roots.get(run.rootId);
    if (root === undefined) {
      root = { flowRunIds: [], taskRunIds: [] };
      this.roots.set(run.rootId, root);
    }
    if (!root.flowRunIds.includes(run.info.id)) root.flowRunIds.push(run.info.id);
    return { ...run.info };
  }

  async proposeFlowRunState(flowRunId: string, state: StateInput): Promise<ProposalResult> {
    const result = this.book.propose(flowRunId, state);
    const run = this.book.runs.get(flowRunId);
    if (
      run !== undefined &&
      run.rootId === run.info.id &&
      result.status === "ACCEPT" &&
      isTerminal(result.state.type)
    ) {
      this.finishRoot(run);
    }
    return result;
  }

  recordTaskRun(taskRun: TaskRunRecord): void {
    const rootId = this.book.runs.get(taskRun.flowRunId)?.rootId;
    if (rootId === undefined) return; // its flow tree already finished; nothing will read it
    this.tasks.set(taskRun.id, { name: taskRun.name, rootId, type: undefined, stateName: undefined });
    this.roots.get(rootId)?.taskRunIds.push(taskRun.id);
  }

  recordTaskRunState(taskRunId: string, state: StateInput): void {
    const entry = this.tasks.get(taskRunId);
    if (entry === undefined) return;
    entry.type = state.type;
    entry.stateName = state.name;
  }

  log(line: LogRecord): void {
    if (line.echoed || isQuiet()) return;
    const who =
      line.taskRunId !== undefined
        ? `Task run '${this.tasks.get(line.taskRunId)?.name ?? line.taskRunId}'`
        : `Flow run '${this.book.runs.get(line.flowRunId)?.info.name ?? line.flowRunId}'`;
    this.write(consoleLine(new Date(line.timestamp), line.level, who, line.message));
  }

  /** Nothing to show artifacts on without a control plane. */
  artifact(): void {}

  async flush(): Promise<void> {}

  private finishRoot(run: LocalFlowRun): void {
    const root = this.roots.get(run.info.id);
    this.roots.delete(run.info.id);
    const counts = new Map<string, number>();
    for (const id of root?.taskRunIds ?? []) {
      const entry = this.tasks.get(id);
      this.tasks.delete(id);
      if (entry === undefined) continue;
      const label = entry.stateName === StateNames.Cached ? "cached" : (entry.type ?? "pending").toLowerCase();
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    for (const id of root?.flowRunIds ?? [run.info.id]) this.book.runs.delete(id);
    if (isQuiet()) return;
    const total = root?.taskRunIds.length ?? 0;
    const breakdown = [...counts].map(([label, n]) => `${n} ${label}`).join(", ");
    this.write(
      `flowplane: flow run '${run.start.flowName}' (${run.info.name}) ${run.state.type} in ` +
        `${formatDuration(Date.now() - run.startedAt)} — ${total} task run${total === 1 ? "" : "s"}` +
        (breakdown ? ` (${breakdown})` : "") +
        "\n",
    );
  }
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}
