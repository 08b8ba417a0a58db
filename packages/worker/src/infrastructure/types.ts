// One interface for every pool type: the worker submits a job, watches it exit, and stops it on
// cancel. Implementations translate the resolved job configuration to their platform.

export interface JobSpec {
  flowRunId: string;
  flowRunName: string;
  /** The pool's job configuration with every variable resolved. */
  configuration: Record<string, unknown>;
  /** Environment the run needs to reach the API and find its flow (merged over configuration.env). */
  env: Record<string, string>;
  /** The runner command to use when the configuration names none. */
  defaultCommand: string[];
  /** Labels/tags identifying the worker's jobs, for cleanup after a crash. */
  labels: Record<string, string>;
  /** Receives the job's output, line by line. */
  onOutput(line: string, stream: "stdout" | "stderr"): void;
}

export interface ExitResult {
  /** Process or container exit code; null when the platform gives none (e.g. killed by signal). */
  exitCode: number | null;
  /** Human-readable reason: "exited with code 1", "OOMKilled", "stopped by user". */
  reason: string;
  /** True when the job ended because stop() was called. */
  stopped: boolean;
}

export interface RunningJob {
  /** Platform id: pid, container id, task ARN, job name. */
  id: string;
  /** Resolves once the job has ended, however it ended. */
  exited: Promise<ExitResult>;
  /** Asks the job to stop (graceful first, forced after `graceMs`); resolves when it has stopped. */
  stop(graceMs: number): Promise<void>;
}

export interface Infrastructure {
  readonly type: "process" | "docker" | "ecs" | "kubernetes";
  /** Starts the job; rejects with a message naming the cause when it cannot start. */
  submit(job: JobSpec): Promise<RunningJob>;
  /** Removes jobs this worker left behind (e.g. after it was killed); returns how many. */
  cleanupOrphans?(labels: Record<string, string>): Promise<number>;
}

export class InfrastructureError extends Error {
  override name = "InfrastructureError";
}
