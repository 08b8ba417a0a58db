// The seam between executing flows and recording them. The engine (flow/task) talks only to a
// Tracker: LocalTracker keeps everything in the process and prints a summary; ApiTracker records
// runs in the control plane. Task runs, their states, logs and artifacts are fire-and-forget
// (batched off the critical path); flow-run states are awaited because the server may answer
// WAIT, REJECT or ABORT.
import type { IngestLog, IngestTaskRun, StateInput, State } from "@flowplane/core";

export type ProposalResult =
  | { status: "ACCEPT"; state: State }
  | { status: "REJECT"; state: State; reason: string }
  | { status: "WAIT"; delaySeconds: number; reason: string }
  | { status: "ABORT"; reason: string };

export interface FlowRunStart {
  /** Set when a worker launched this process for an existing run. */
  flowRunId?: string;
  flowName: string;
  parameters: Record<string, unknown>;
  tags: string[];
  /** The parent flow's task run that stands for this sub-flow call. */
  parentTaskRunId?: string;
  retryPolicy: { retries: number; retryDelaySeconds?: unknown; retryJitterFactor?: number };
  /** The flow's `version` option, when set. */
  flowVersion?: string;
  /** The run's name (flowRunName option); the tracker picks one when absent. */
  flowRunName?: string;
}

export interface FlowRunInfo {
  id: string;
  name: string;
  runCount: number;
  parameters: Record<string, unknown>;
  scheduledTime: string | null;
  partitionKey: string | null;
  deploymentId: string | null;
}

/** A task run as the engine records it: the ingest shape, with a known cache key or none. */
export interface TaskRunRecord extends IngestTaskRun {
  cacheKey?: string;
  /** Set when this task run stands for a sub-flow call. */
  isSubflow?: boolean;
}

export interface LogRecord extends IngestLog {
  taskRunId?: string;
  /**
   * True for a captured `console.*` call (logPrints): the process already wrote it to its console,
   * so trackers that mirror logs to the console skip it.
   */
  echoed?: boolean;
}

export interface ArtifactRecord {
  /** Client-made UUIDv7 (returned to the caller), so a retried batch is inserted once. */
  id?: string;
  /** Absent for an artifact created outside any run. */
  flowRunId?: string;
  taskRunId?: string;
  key?: string;
  type: "MARKDOWN" | "TABLE" | "LINK";
  description?: string;
  data: unknown;
}

export interface Tracker {
  /** Creates the flow run (or loads the existing one when `flowRunId` is given). */
  startFlowRun(start: FlowRunStart): Promise<FlowRunInfo>;
  /** Proposes a flow-run state and waits for the orchestration decision. */
  proposeFlowRunState(flowRunId: string, state: StateInput): Promise<ProposalResult>;
  recordTaskRun(taskRun: TaskRunRecord): void;
  recordTaskRunState(taskRunId: string, state: StateInput): void;
  log(line: LogRecord): void;
  artifact(artifact: ArtifactRecord): void;
  /** Sends everything buffered; resolves when the control plane has it (or it was given up). */
  flush(): Promise<void>;
}
