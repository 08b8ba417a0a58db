// One interface for every pool type: the worker submits a job, watches it exit, and stops it on
// cancel. Implementations translate the resolved job configuration to their platform.

export interface JobSpec {
  flowRunId: string;
  flowRunName: string;
  /** The pool's job configuration with every variable resolved. */
  configuration: Record<string, unknown>;
  /** Environment the run needs to reach the API and find its flow (merged over configuration.env). */
  env: Record<string, string>;
  /** The runner command a process runs when the configuration names none (container pools run their image's own). */
  defaultCommand: string[];
  /** Labels/tags identifying the worker's jobs, for cleanup after a crash. */
  labels: Record<string, string>;
  /** Receives the job's output, line by line. */
  onOutput(line: string, stream: "stdout" | "stderr"): void;
  /**
   * Asked before a job the platform stopped answering about is given up: true while the run's
   * runner still heartbeats, so a platform outage never ends a live run. Absent: give up.
   */
  runnerAlive?(): Promise<boolean>;
  /** Told what the infrastructure is waiting for or retrying, for the run's log. */
  onEvent?(message: string): void;
}

export interface ExitResult {
  /** Process or container exit code; null when the platform gives none (e.g. killed by signal). */
  exitCode: number | null;
  /** Human-readable reason: "exited with code 1", "OOMKilled", "stopped by user". */
  reason: string;
  /** True when the job ended because stop() was called. */
  stopped: boolean;
  /**
   * True when the platform could not say how the job ended (it stopped answering for longer than
   * the watch tolerates, and the runner was silent too); what was launched has been stopped.
   */
  lost?: boolean;
}

/** A job found on the platform by its labels (RunningJob.id, and the run it was launched for). */
export interface FoundJob {
  id: string;
  flowRunId: string | null;
  /** The job has ended (its record lingers until the platform removes it). */
  finished: boolean;
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
  /**
   * Stops the job with this id (a RunningJob.id, as the run stores it), whichever worker launched
   * it; resolves once it has stopped or is gone, rejects naming the cause when the platform refuses
   * or it keeps running. `flowRunId` is the run it was launched for, where an id alone could name
   * something else (a pid on another machine).
   */
  stop(id: string, graceMs: number, flowRunId?: string): Promise<void>;
  /**
   * Where an id names the machine or engine its job lives on (process: a pid of this host, docker:
   * a container of this engine), the part every id of a job this worker launches starts with; stop()
   * refuses an id that names another place (JobElsewhereError), and the server routes an OFFLINE
   * worker's cancels only to workers of the same place. Absent where any worker reaches any id
   * through the platform's API (ECS, Kubernetes).
   */
  jobIdPrefix?(): Promise<string>;
  /**
   * The jobs carrying every one of `labels` (what a worker name launched), looked up where the
   * pool's `configuration` says jobs run (cluster, namespace). Absent where jobs cannot outlive
   * their worker (process).
   */
  findJobs?(labels: Record<string, string>, configuration: Record<string, unknown>): Promise<FoundJob[]>;
  /**
   * Where a job runs, as a configuration findJobs searches (ECS region and cluster, Kubernetes
   * namespace): of a job configuration, or of a stored job id. Jobs in one place give equal
   * locations (as JSON), so a place is searched once. Absent where findJobs searches one place
   * (docker: the worker's engine).
   */
  jobLocation?(of: { configuration: Record<string, unknown> } | { id: string }): Promise<Record<string, unknown>>;
}

export class InfrastructureError extends Error {
  override name = "InfrastructureError";
  /**
   * @param transient the cause may pass (capacity, throttling, a 5xx, an expired credential): the
   * run goes back to the queue instead of ending.
   */
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

/**
 * A stored job id names another host or engine than this worker's: nothing was done, and the job
 * may still be running there. The run is left to a worker of that place.
 */
export class JobElsewhereError extends InfrastructureError {
  override name = "JobElsewhereError";
}
