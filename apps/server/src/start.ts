// Starting and stopping the control plane: database (given or embedded), migrations, first-start
// bootstrap, API services, HTTP server and background loops, and the reverse on shutdown.
import { access, constants, mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import {
  bootstrapDefaultWorkspace,
  compactFlowRunCounts,
  appRouter,
  createApiServices,
  createSmtpMailer,
  pruneSignInRecords,
  dashboardLink,
  markLateRuns,
  MasterKeyMismatchError,
  pruneByRetention,
  retiredKeyWindowSeconds,
  rotateSigningKeyIfDue,
  scheduleRuns,
  sweepLiveness,
  type ApiServices,
} from "@flowplane/api";
import { saveProfileKey } from "@flowplane/client";
import {
  applyMigrations,
  checkDatabaseReachable,
  connectDatabase,
  redactUrl,
  startEmbeddedPostgres,
  type Database,
  type EmbeddedPostgresHandle,
} from "@flowplane/db";
import { pino, type Logger } from "pino";
import { startLoop, type Loop } from "./background.ts";
import { loadServerConfig, type ServerConfig } from "./config.ts";
import { loadMasterKey } from "./master-key.ts";
import { startHttpServer } from "./http-server.ts";
import { ServerMetrics } from "./metrics.ts";

export interface RunningServer {
  url: string;
  config: ServerConfig;
  services: ApiServices;
  db: Database;
  logger: Logger;
  /** Set on the first start against a fresh database; never logged. */
  createdAdminKey: string | null;
  /** Set on the first start: the one-time link that creates the first owner in the dashboard; never logged. */
  ownerSetupLink: string | null;
  close(): Promise<void>;
}

/** A startup failure with a one-line explanation for the user. */
export class StartupError extends Error {
  override name = "StartupError";
}

// From the sources, the dashboard app's build; from the published package, the copy its build puts
// beside the bundle (apps/server/tsdown.config.ts).
const defaultDashboardDir = import.meta.url.endsWith(".ts")
  ? fileURLToPath(new URL("../../dashboard/dist", import.meta.url))
  : fileURLToPath(new URL("./dashboard", import.meta.url));

export async function startServer(
  overrides: Partial<ServerConfig> = {},
  options: {
    logger?: Logger;
    writeProfile?: boolean;
    /**
     * Called when the server can no longer serve (its embedded PostgreSQL died). Without it the
     * server closes itself and sets a non-zero process exit code.
     */
    onFatal?: (err: Error) => void;
  } = {},
): Promise<RunningServer> {
  const config = loadServerConfig(overrides);
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: "flowplane-server" } });
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => logger.error({ err }, "cleanup failed"));
  };
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      logger.info("shutting down");
      await cleanup();
      logger.info("stopped");
    })();
    return closing;
  };

  try {
    if (config.sessionTtlSeconds > config.maxTokenTtlSeconds)
      throw new StartupError(
        `FLOWPLANE_SESSION_TTL_SECONDS (${config.sessionTtlSeconds}) must not exceed FLOWPLANE_MAX_TOKEN_TTL_SECONDS (${config.maxTokenTtlSeconds})`,
      );
    await assertPortFree(config.host, config.port);
    // Before any database work: a bad key must stop the start with nothing written.
    if (!config.masterKey) await assertWritableHome(config.home);
    const master = await loadMasterKey(config).catch((err: Error) => {
      throw new StartupError(err.message);
    });
    logger.info(
      { source: master.source, created: master.created, masterKeyId: master.keyring.currentId },
      "master key loaded",
    );
    let databaseUrl = config.databaseUrl;
    let embedded: EmbeddedPostgresHandle | null = null;
    if (databaseUrl) {
      await checkDatabaseReachable(databaseUrl).catch((err: Error) => {
        throw new StartupError(`${err.message} (from DATABASE_URL)`);
      });
    } else {
      await assertWritableHome(config.home);
      const started = Date.now();
      embedded = await startEmbeddedPostgres(config.home, (msg) => logger.warn(msg)).catch((err: Error) => {
        throw new StartupError(err.message);
      });
      cleanups.push(() => embedded!.stop());
      // Serving on without a database would answer 503 for ever; stopping lets a supervisor (or
      // the user) start the server again, which starts the database again.
      embedded.onUnexpectedExit((reason) => {
        const err = new Error(`the embedded PostgreSQL ${reason}`);
        logger.error({ reason }, "the embedded PostgreSQL stopped unexpectedly; the server stops too");
        if (options.onFatal) options.onFatal(err);
        else {
          process.exitCode = 1;
          void close();
        }
      });
      databaseUrl = embedded.url;
      logger.info(
        { dataDir: path.join(config.home, "postgres"), created: embedded.created, ms: Date.now() - started },
        "embedded PostgreSQL started",
      );
    }

    const applied = await applyMigrations(databaseUrl);
    if (applied.length > 0) logger.info({ migrations: applied }, "applied migrations");

    const db = connectDatabase(databaseUrl, {
      poolSize: config.dbPoolSize,
      onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
    });
    cleanups.push(() => db.close());

    const mailer = config.smtpUrl ? createSmtpMailer({ url: config.smtpUrl, from: config.mailFrom }) : null;
    if (mailer) cleanups.push(async () => mailer.close());
    const services = await createApiServices({
      db,
      masterKeys: master.keyring,
      config: {
        claimTimeoutSeconds: config.claimTimeoutSeconds,
        prefetchSeconds: config.prefetchSeconds,
        sessionTtlSeconds: config.sessionTtlSeconds,
        maxTokenTtlSeconds: config.maxTokenTtlSeconds,
        runTokenTtlSeconds: config.runTokenTtlSeconds,
        runHeartbeatTimeoutSeconds: config.runHeartbeatTimeoutSeconds,
        maxLogMessageChars: config.maxLogMessageChars,
        loginMaxFailures: config.loginMaxFailures,
        loginLockoutSeconds: config.loginLockoutSeconds,
        publicUrl: config.publicUrl,
      },
      mailer: mailer,
      rateLimit:
        config.rateLimitPerSecond > 0
          ? { ratePerSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst }
          : null,
      fairness:
        config.requestConcurrency > 0
          ? { concurrency: config.requestConcurrency, maxQueuedPerWorkspace: config.workspaceQueueLimit }
          : null,
      onEventError: (err) => logger.warn({ err }, "event listener error"),
      onAuditError: (err) => logger.error({ err }, "audit log write failed"),
    }).catch((err: unknown) => {
      if (err instanceof MasterKeyMismatchError) throw new StartupError(err.message);
      throw err;
    });
    await services.events.start();
    cleanups.push(() => services.events.stop());
    // Registered before the HTTP server's close, so it runs after it: the last requests' entries are written.
    cleanups.push(() => services.resources.audit.close());

    const dashboardDir =
      config.dashboardDir ?? (existsSync(path.join(defaultDashboardDir, "index.html")) ? defaultDashboardDir : null);
    const http = await startHttpServer({
      services,
      host: config.host,
      port: config.port,
      logger,
      metrics: new ServerMetrics(db.pool, Object.keys(appRouter._def.procedures)),
      dashboardDir,
      maxBodyBytes: config.maxBodyBytes,
      metricsToken: config.metricsToken,
      serveSourceMaps: config.serveSourceMaps,
    });
    cleanups.push(() => http.close());
    // Links in mails and answers point at the dashboard as people reach it; by default, where it listens.
    services.config.publicUrl ??= http.url;

    // First start: create workspace `default` and an admin key, and hand the key to the local
    // profile. The profile is written inside the bootstrap transaction, so a failure to write it
    // leaves no key behind that nobody could ever read.
    const bootstrap = await bootstrapDefaultWorkspace(
      db.prisma,
      async (apiKey, workspace) => {
        if (options.writeProfile !== false)
          await saveProfileKey({ apiUrl: http.url, workspace, apiKey, makeDefaultWorkspace: true }, config.home);
      },
      services.config.invitationTtlSeconds,
    );
    const ownerSetupLink = bootstrap.ownerSetupToken
      ? dashboardLink(services.config.publicUrl, "accept-invite", bootstrap.ownerSetupToken).url
      : null;
    if (bootstrap.created)
      logger.info(
        { workspace: bootstrap.workspaceName, profile: path.join(config.home, "profiles.json") },
        "created workspace and admin API key; the key is in the local profile",
      );

    const schedulerConfig = {
      minRuns: config.schedulerMinRuns,
      horizonSeconds: config.schedulerHorizonSeconds,
      maxRuns: config.schedulerMaxRuns,
      batchSize: 200,
    };
    const loops: Loop[] = [
      startLoop("liveness", config.livenessIntervalMs, logger, () =>
        sweepLiveness(services.resources, {
          missedWorkerHeartbeats: config.missedWorkerHeartbeats,
          runHeartbeatTimeoutSeconds: config.runHeartbeatTimeoutSeconds,
        }),
      ),
      startLoop("scheduler", config.schedulerIntervalMs, logger, () =>
        scheduleRuns(services.resources, schedulerConfig),
      ),
      startLoop("late-runs", config.schedulerIntervalMs, logger, async () => ({
        late: await markLateRuns(services.resources, config.lateAfterSeconds),
      })),
      startLoop("retention", 3_600_000, logger, () =>
        pruneByRetention(services.resources, {
          flowRunDays: config.retentionDays,
          logDays: config.logRetentionDays,
          auditDays: config.auditRetentionDays,
        }),
      ),
      startLoop("sign-in-pruning", 3_600_000, logger, () => pruneSignInRecords(services.resources)),
      // Counts are exact without it (readers add the pending deltas); it keeps the delta table, and
      // so the chart's read of it, small. Replicas take turns through an advisory lock. Returns
      // nothing, so a pass is not logged every few seconds.
      startLoop("signing-key-rotation", 3_600_000, logger, async () => {
        const result = await rotateSigningKeyIfDue(db.prisma, master.keyring, {
          maxAgeSeconds: config.signingKeyRotationDays * 86_400,
          keepRetiredSeconds: retiredKeyWindowSeconds(config.maxTokenTtlSeconds),
        });
        if (result.rotated) services.tokens.invalidate();
        return { rotatedKeys: result.rotated ? 1 : 0, prunedKeys: result.pruned };
      }),
      startLoop("counts-compaction", config.countsCompactIntervalMs, logger, async () => {
        await compactFlowRunCounts(db.pool);
      }),
    ];
    cleanups.push(async () => {
      await Promise.all(loops.map((l) => l.stop()));
    });

    http.markReady();
    logger.info({ url: http.url, database: embedded ? "embedded" : redactUrl(databaseUrl) }, "Flowplane server ready");
    return { url: http.url, config, services, db, logger, createdAdminKey: bootstrap.apiKey, ownerSetupLink, close };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function assertWritableHome(home: string): Promise<void> {
  try {
    await mkdir(home, { recursive: true });
    await access(home, constants.W_OK);
  } catch (err) {
    throw new StartupError(
      `FLOWPLANE_HOME ${home} is not writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new StartupError(
          err.code === "EADDRINUSE"
            ? `port ${port} on ${host} is already in use; choose another with --port`
            : `cannot listen on ${host}:${port}: ${err.message}`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
