/**
 * @flowplane/server — the control plane process.
 *
 * ```ts
 * const server = await startServer({ port: 4200 });
 * process.on("SIGTERM", () => server.close());
 * ```
 */
export { startServer, StartupError, type RunningServer } from "./start.ts";
export { loadServerConfig, type ServerConfig } from "./config.ts";
