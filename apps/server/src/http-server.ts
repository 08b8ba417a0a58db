// The server's HTTP surface: tRPC at /trpc, tRPC subscriptions over websocket at /trpc-ws,
// /health, /metrics and the dashboard's static files at /.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { appRouter, type ApiServices, type Context } from "@flowplane/api";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { applyWSSHandler } from "@trpc/server/adapters/ws";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { ServerMetrics } from "./metrics.ts";

export interface HttpServerHandle {
  server: http.Server;
  url: string;
  /** /health answers 503 "starting" until this is called, so nobody sees a half-started server. */
  markReady(): void;
  /** Stops accepting, ends long-polls and subscriptions, waits for in-flight requests. */
  close(): Promise<void>;
}

function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1] ?? null;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

export async function startHttpServer(opts: {
  services: ApiServices;
  host: string;
  port: number;
  logger: Logger;
  metrics: ServerMetrics;
  dashboardDir: string | null;
}): Promise<HttpServerHandle> {
  const { services, logger, metrics } = opts;
  const shutdown = new AbortController();
  let ready = false;

  const trpcHandler = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    createContext: ({ req }): Context => ({
      services,
      credential: bearer(req.headers.authorization),
      workspaceName: (req.headers["x-flowplane-workspace"] as string | undefined) ?? null,
      signal: shutdown.signal,
    }),
    onError: ({ error, path: procedure }) => {
      if (error.code === "INTERNAL_SERVER_ERROR")
        logger.error({ err: error.cause ?? error, procedure }, "procedure failed");
    },
  });

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = url.pathname.startsWith("/trpc/")
      ? url.pathname.slice(6)
      : url.pathname.startsWith("/assets/")
        ? "/assets"
        : url.pathname;
    res.on("finish", () =>
      metrics.observe(
        route.length > 100 ? "other" : route,
        res.statusCode,
        Number(process.hrtime.bigint() - started) / 1e9,
      ),
    );
    if (url.pathname.startsWith("/trpc/")) return trpcHandler(req, res);
    if (url.pathname === "/health") return void health(res);
    if (url.pathname === "/metrics") return void sendMetrics(res);
    return void serveDashboard(url.pathname, res);
  });

  async function health(res: http.ServerResponse): Promise<void> {
    if (!ready) {
      res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ status: "starting" }));
      return;
    }
    try {
      await services.db.pool.query("select 1");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok", database: "ok" }));
    } catch (err) {
      res
        .writeHead(503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: "unavailable", database: (err as Error).message }));
    }
  }

  async function sendMetrics(res: http.ServerResponse): Promise<void> {
    res.writeHead(200, { "content-type": metrics.registry.contentType }).end(await metrics.registry.metrics());
  }

  async function serveDashboard(pathname: string, res: http.ServerResponse): Promise<void> {
    if (!opts.dashboardDir) {
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end(
          "<!doctype html><title>Flowplane</title><p>The dashboard is not built. Run <code>pnpm --filter @flowplane/dashboard build</code>.</p>",
        );
      return;
    }
    const root = opts.dashboardDir;
    const requested = path.normalize(path.join(root, decodeURIComponent(pathname)));
    // Unknown paths fall back to index.html (client-side routes); paths outside root never resolve.
    let file = requested.startsWith(root) ? requested : path.join(root, "index.html");
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) file = path.join(root, "index.html");
    const type = CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream";
    const immutable = file.includes(`${path.sep}assets${path.sep}`);
    res.writeHead(200, {
      "content-type": type,
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
    createReadStream(file)
      .on("error", () => res.end())
      .pipe(res);
  }

  // Websocket: the upgrade itself requires a valid credential, so unauthenticated sockets never open.
  const wss = new WebSocketServer({ noServer: true });
  const wsHandler = applyWSSHandler({
    wss,
    router: appRouter,
    createContext: ({ req }): Context => {
      const url = new URL(req.url ?? "/", "http://localhost");
      return {
        services,
        credential: url.searchParams.get("token"),
        workspaceName: url.searchParams.get("workspace"),
        signal: shutdown.signal,
      };
    },
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
  });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/trpc-ws") {
      socket.destroy();
      return;
    }
    services.authenticator
      .authenticate(url.searchParams.get("token"))
      .then((auth) => {
        if (!auth.ok) {
          socket.end(
            `HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${auth.reason}`,
          );
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
      })
      .catch(() => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(
        err.code === "EADDRINUSE"
          ? new Error(`port ${opts.port} on ${opts.host} is already in use; choose another with --port`)
          : err,
      );
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(opts.port, opts.host);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  const url = `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}`;

  return {
    server,
    url,
    markReady() {
      ready = true;
    },
    async close() {
      shutdown.abort();
      wsHandler.broadcastReconnectNotification();
      for (const client of wss.clients) client.close(1001, "server shutting down");
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      wss.close();
    },
  };
}
