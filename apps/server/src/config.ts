// Every environment variable the server reads, in one place.
import { availableParallelism } from "node:os";
import { flowplaneHome } from "@flowplane/client";

export interface ServerConfig {
  host: string;
  port: number;
  home: string;
  databaseUrl: string | null;
  logLevel: string;
  /** Liveness, claims and scheduling intervals; tests shorten them. */
  livenessIntervalMs: number;
  missedWorkerHeartbeats: number;
  runHeartbeatTimeoutSeconds: number;
  claimTimeoutSeconds: number;
  prefetchSeconds: number;
  sessionTtlSeconds: number;
  /** Longest lifetime of any token the server signs; retired signing keys verify this long. */
  maxTokenTtlSeconds: number;
  /** Lifetime of a flow run's token; runs renew it at half-life while their attempt holds the claim. */
  runTokenTtlSeconds: number;
  /** A new token signing key takes over when the current one is this old. */
  signingKeyRotationDays: number;
  /** FLOWPLANE_MASTER_KEY (base64, 32 bytes); null → $FLOWPLANE_HOME/master.key, created on first start. */
  masterKey: string | null;
  /** FLOWPLANE_MASTER_KEY_PREVIOUS: earlier master keys (comma-separated) that still open values until `secret rotate-master-key`. */
  previousMasterKeys: string[];
  /** Per-key token bucket; 0 turns it off. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  dbPoolSize: number;
  /**
   * Authenticated requests executing at once; past it, workspaces take turns for the next free
   * slot. 0 turns request scheduling off.
   */
  requestConcurrency: number;
  /** Requests one workspace may have waiting for a slot before it is answered 429. */
  workspaceQueueLimit: number;
  schedulerIntervalMs: number;
  /** The scheduler keeps at least this many future runs per schedule, and this far ahead. */
  schedulerMinRuns: number;
  schedulerHorizonSeconds: number;
  schedulerMaxRuns: number;
  /** SCHEDULED runs this late are marked Late. */
  lateAfterSeconds: number;
  /** How often the runs chart's pending count deltas are folded into the hourly rollup. */
  countsCompactIntervalMs: number;
  retentionDays: number;
  logRetentionDays: number;
  /** Audit log entries are kept this long (a year by default: audits ask about last year). */
  auditRetentionDays: number;
  dashboardDir: string | null;
  /** Log and state messages longer than this are stored truncated, with a marker saying how much. */
  maxLogMessageChars: number;
  /** Request bodies and websocket messages above this are refused with 413. */
  maxBodyBytes: number;
  /** When set, /metrics answers only requests bearing this token. */
  metricsToken: string | null;
  /** The dashboard's source maps reveal its sources; they are served only when asked for. */
  serveSourceMaps: boolean;
  /** FLOWPLANE_PUBLIC_URL: the dashboard's address as people reach it (links in mails); default the listen URL. */
  publicUrl: string | null;
  /** FLOWPLANE_SMTP_URL (`smtp://user:pass@host:port`): mail for invitations and password resets; none → links are shown to admins. */
  smtpUrl: string | null;
  /** FLOWPLANE_MAIL_FROM: the sender of those mails. */
  mailFrom: string;
  /** Failed sign-ins in a row that lock an account (FLOWPLANE_LOGIN_MAX_FAILURES) and for how long. */
  loginMaxFailures: number;
  loginLockoutSeconds: number;
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "" || raw === "0" || raw === "false") return false;
  if (raw === "1" || raw === "true") return true;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

export function loadServerConfig(
  overrides: Partial<ServerConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const config = readServerConfig(overrides, env);
  checkServerConfig(config);
  return config;
}

/**
 * Refuses settings that cannot work together, naming the variables, before anything starts. Runs
 * heartbeat at a sixth of FLOWPLANE_RUN_HEARTBEAT_TIMEOUT_SECONDS (the server tells them so with
 * each claim), so any timeout of a second or more is consistent with the runs' heartbeats; what
 * remains are sweeps too rare to enforce the timeouts they check.
 */
export function checkServerConfig(config: ServerConfig): void {
  const problems: string[] = [];
  if (config.runHeartbeatTimeoutSeconds < 1)
    problems.push(
      `FLOWPLANE_RUN_HEARTBEAT_TIMEOUT_SECONDS must be at least 1 (got ${config.runHeartbeatTimeoutSeconds})`,
    );
  if (config.claimTimeoutSeconds < 1)
    problems.push(`FLOWPLANE_CLAIM_TIMEOUT_SECONDS must be at least 1 (got ${config.claimTimeoutSeconds})`);
  if (config.missedWorkerHeartbeats < 1)
    problems.push(`FLOWPLANE_MISSED_WORKER_HEARTBEATS must be at least 1 (got ${config.missedWorkerHeartbeats})`);
  if (config.livenessIntervalMs < 10)
    problems.push(`FLOWPLANE_LIVENESS_INTERVAL_MS must be at least 10 (got ${config.livenessIntervalMs})`);
  else if (config.livenessIntervalMs > config.runHeartbeatTimeoutSeconds * 1000)
    problems.push(
      `FLOWPLANE_LIVENESS_INTERVAL_MS (${config.livenessIntervalMs}) must not exceed FLOWPLANE_RUN_HEARTBEAT_TIMEOUT_SECONDS ` +
        `(${config.runHeartbeatTimeoutSeconds} s): the sweep that crashes silent runs would run less often than the timeout it enforces`,
    );
  if (config.runTokenTtlSeconds < 2)
    problems.push(`FLOWPLANE_RUN_TOKEN_TTL_SECONDS must be at least 2 (got ${config.runTokenTtlSeconds})`);
  else if (config.runTokenTtlSeconds > config.maxTokenTtlSeconds)
    problems.push(
      `FLOWPLANE_RUN_TOKEN_TTL_SECONDS (${config.runTokenTtlSeconds}) must not exceed FLOWPLANE_MAX_TOKEN_TTL_SECONDS (${config.maxTokenTtlSeconds})`,
    );
  if (problems.length > 0) throw new Error(`invalid configuration: ${problems.join("; ")}`);
}

function readServerConfig(overrides: Partial<ServerConfig>, env: NodeJS.ProcessEnv): ServerConfig {
  return {
    host: env.FLOWPLANE_HOST || "127.0.0.1",
    port: num(env, "FLOWPLANE_PORT", 4200),
    home: flowplaneHome(env),
    databaseUrl: env.DATABASE_URL || null,
    logLevel: env.FLOWPLANE_LOG_LEVEL || "info",
    livenessIntervalMs: num(env, "FLOWPLANE_LIVENESS_INTERVAL_MS", 5_000),
    missedWorkerHeartbeats: num(env, "FLOWPLANE_MISSED_WORKER_HEARTBEATS", 3),
    runHeartbeatTimeoutSeconds: num(env, "FLOWPLANE_RUN_HEARTBEAT_TIMEOUT_SECONDS", 90),
    claimTimeoutSeconds: num(env, "FLOWPLANE_CLAIM_TIMEOUT_SECONDS", 300),
    prefetchSeconds: num(env, "FLOWPLANE_PREFETCH_SECONDS", 10),
    sessionTtlSeconds: num(env, "FLOWPLANE_SESSION_TTL_SECONDS", 3600),
    maxTokenTtlSeconds: num(env, "FLOWPLANE_MAX_TOKEN_TTL_SECONDS", 86_400),
    runTokenTtlSeconds: num(env, "FLOWPLANE_RUN_TOKEN_TTL_SECONDS", 900),
    signingKeyRotationDays: num(env, "FLOWPLANE_SIGNING_KEY_ROTATION_DAYS", 30),
    masterKey: env.FLOWPLANE_MASTER_KEY || null,
    previousMasterKeys: (env.FLOWPLANE_MASTER_KEY_PREVIOUS ?? "")
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean),
    // Sized for abuse, not for use: a worker, an SDK run or the dashboard sends a few calls per
    // second (records go in batches), a flooding client thousands.
    rateLimitPerSecond: num(env, "FLOWPLANE_RATE_LIMIT_PER_SECOND", 300),
    rateLimitBurst: num(env, "FLOWPLANE_RATE_LIMIT_BURST", 600),
    dbPoolSize: num(env, "FLOWPLANE_DB_POOL_SIZE", 20),
    // The API's work runs on one event loop and mostly uses CPU (its own and PostgreSQL's), so
    // requests beyond about one per core only lengthen each other; a flooding workspace holding
    // those few slots is what made another's p99 grow 10x (e2e/bench/tenant-fairness.ts).
    requestConcurrency: num(env, "FLOWPLANE_REQUEST_CONCURRENCY", Math.max(2, availableParallelism())),
    workspaceQueueLimit: num(env, "FLOWPLANE_WORKSPACE_QUEUE_LIMIT", 1_000),
    schedulerIntervalMs: num(env, "FLOWPLANE_SCHEDULER_INTERVAL_MS", 5_000),
    schedulerMinRuns: num(env, "FLOWPLANE_SCHEDULER_MIN_RUNS", 3),
    schedulerHorizonSeconds: num(env, "FLOWPLANE_SCHEDULER_HORIZON_SECONDS", 3600),
    schedulerMaxRuns: num(env, "FLOWPLANE_SCHEDULER_MAX_RUNS", 100),
    lateAfterSeconds: num(env, "FLOWPLANE_LATE_AFTER_SECONDS", 15),
    countsCompactIntervalMs: num(env, "FLOWPLANE_COUNTS_COMPACT_INTERVAL_MS", 5_000),
    retentionDays: num(env, "FLOWPLANE_RETENTION_DAYS", 30),
    logRetentionDays: num(env, "FLOWPLANE_LOG_RETENTION_DAYS", 30),
    auditRetentionDays: num(env, "FLOWPLANE_AUDIT_RETENTION_DAYS", 365),
    dashboardDir: env.FLOWPLANE_DASHBOARD_DIR || null,
    maxLogMessageChars: num(env, "FLOWPLANE_MAX_LOG_MESSAGE_CHARS", 64 * 1024),
    maxBodyBytes: num(env, "FLOWPLANE_MAX_BODY_BYTES", 10 * 1024 * 1024),
    metricsToken: env.FLOWPLANE_METRICS_TOKEN || null,
    serveSourceMaps: bool(env, "FLOWPLANE_SERVE_SOURCE_MAPS"),
    publicUrl: env.FLOWPLANE_PUBLIC_URL || null,
    smtpUrl: env.FLOWPLANE_SMTP_URL || null,
    mailFrom: env.FLOWPLANE_MAIL_FROM || "Flowplane <flowplane@localhost>",
    loginMaxFailures: num(env, "FLOWPLANE_LOGIN_MAX_FAILURES", 5),
    loginLockoutSeconds: num(env, "FLOWPLANE_LOGIN_LOCKOUT_SECONDS", 900),
    ...overrides,
  };
}
