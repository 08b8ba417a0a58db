import type { Command } from "commander";
import type * as ServerPackage from "@flowplane/server";
import { CliError } from "../output.ts";
import { cliVersion } from "../version.ts";

/**
 * The control plane is its own package (@flowplane/server: database drivers, embedded PostgreSQL,
 * dashboard assets), so projects that only deploy flows and run workers do not install it. Loaded
 * only for `server start`; when it is missing, say exactly what to install.
 */
async function loadServerPackage(): Promise<typeof ServerPackage> {
  try {
    return await import("@flowplane/server");
  } catch (err) {
    const error = err as NodeJS.ErrnoException;
    if (error.code === "ERR_MODULE_NOT_FOUND" && error.message.includes("'@flowplane/server'"))
      throw new CliError(
        `flowplane server start needs the @flowplane/server package beside this CLI: npm install @flowplane/server@${cliVersion}`,
      );
    throw err;
  }
}

export function registerServer(program: Command): void {
  const server = program.command("server").description("run the Flowplane control plane");
  server
    .command("start")
    .description("start the API server and dashboard (embedded PostgreSQL unless DATABASE_URL is set)")
    .option("--host <host>", "interface to listen on (env FLOWPLANE_HOST)", process.env.FLOWPLANE_HOST || "127.0.0.1")
    .option("--port <port>", "port to listen on (env FLOWPLANE_PORT)", process.env.FLOWPLANE_PORT || "4200")
    .action(async (opts: { host: string; port: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new CliError(`--port ${JSON.stringify(opts.port)}: expected a port number 0-65535`, 2);
      const { startServer, StartupError } = await loadServerPackage();
      let running: ServerPackage.RunningServer | undefined;
      try {
        running = await startServer(
          { host: opts.host, port },
          {
            // The embedded database died: exit non-zero so a supervisor restarts the server.
            onFatal: () => {
              void running?.close().finally(() => process.exit(1));
            },
          },
        );
      } catch (err) {
        if (err instanceof StartupError) throw new CliError(err.message);
        throw new CliError(`server failed to start: ${(err as Error).message}`);
      }
      process.stderr.write(`Flowplane server ready at ${running.url} (dashboard: ${running.url}/)\n`);
      // Printed once, to whoever started the server; it is not in the log.
      if (running.ownerSetupLink)
        process.stderr.write(
          `Create the first owner of this server (the link works once, for 7 days): ${running.ownerSetupLink}\n`,
        );
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        running.logger.info({ signal }, "signal received");
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGHUP", () => stop("SIGHUP"));
    });
}
