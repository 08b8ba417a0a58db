// What a running flow reports to the control plane in one ingest request: task runs, their
// states, logs and artifacts. The SDK's API tracker builds these and the API's ingestion stores
// them, so both sides share one definition of the wire shape.

export interface IngestTaskRun {
  /** Client-made UUIDv7, so recording needs no round trip and a re-sent batch is stored once. */
  id: string;
  flowRunId: string;
  name: string;
  taskKey: string;
  dynamicKey: string;
  tags: string[];
  cacheKey?: string | null;
  createdAt: string;
  /** Task runs whose futures fed this one (the timeline draws them as edges). */
  inputTaskRunIds?: string[];
}

export interface IngestTaskRunState {
  id: string;
  taskRunId: string;
  type: string;
  name: string;
  timestamp: string;
  message?: string | null;
  details?: Record<string, unknown>;
}

export interface IngestLog {
  /** Client-made UUID: a retried batch is inserted once. */
  id: string;
  flowRunId: string;
  taskRunId?: string | null;
  name: string;
  /** Python-style numeric levels: 10 debug, 20 info, 30 warning, 40 error, 50 critical. */
  level: number;
  message: string;
  timestamp: string;
}

export interface IngestArtifact {
  id: string;
  /** Null for an artifact created outside any run (found by its key). */
  flowRunId?: string | null;
  taskRunId?: string | null;
  key?: string | null;
  type: "MARKDOWN" | "TABLE" | "LINK";
  description?: string | null;
  data: unknown;
}

export interface IngestBatch {
  taskRuns?: IngestTaskRun[];
  taskRunStates?: IngestTaskRunState[];
  logs?: IngestLog[];
  artifacts?: IngestArtifact[];
}
