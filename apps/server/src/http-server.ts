// The server's HTTP surface: tRPC at /trpc, tRPC subscriptions over websocket at /trpc-ws,
// /health, /metrics and the dashboard's static files at /.
//
// Everything here faces the internet: a request target that is not a valid origin-form path is
// answered 400 before anything parses it, bodies over the limit are refused 413 before they are
// read, every response carries the security headers, and a handler that fails anyway is answered
// 500 and logged while the process keeps serving.
import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { Duplex } from "node:stream";
import {
  appRouter,
  CSRF_HEADER,
  handleSsoRequest,
  parseCookies,
  type ApiServices,
  type Context,
  type HttpExchange,
} from "@flowplane/api";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { applyWSSHandler } from "@trpc/server/adapters/ws";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { ServerMetrics } from "./metrics.ts";
import { createStaticHandler, dashboardMissingPage } from "./static-files.ts";

export interface HttpServerHandle {
  server: http.Server;
  url: string;
  /** /health answers 503 "starting" until this is called, so nobody sees a half-started server. */
  markReady(): void;
  /** Stops accepting, ends long-polls and subscriptions, waits for in-flight requests. */
  close(): Promise<void>;
}

/**
 * Who is calling, for the audit log: the socket's peer address (a proxy in front of the server is
 * what it sees; forwarded headers are not trusted, since any client can send them) and user agent.
 */
function requestClient(req: http.IncomingMessage): { ip: string | null; userAgent: string | null } {
  const ua = req.headers["user-agent"];
  return { ip: req.socket.remoteAddress ?? null, userAgent: typeof ua === "string" ? ua.slice(0, 512) : null };
}

/** Cookies in and out of one request, for the dashboard's sign-in (tRPC) and single sign-on (/auth/sso). */
function httpExchange(req: http.IncomingMessage, res: http.ServerResponse): HttpExchange {
  return {
    cookies: parseCookies(req.headers.cookie),
    csrfToken: (req.headers[CSRF_HEADER] as string | undefined) ?? null,
    // Behind a TLS-terminating proxy the socket is plain; the proxy says so. The header can only
    // add `Secure` to our cookies, never remove it.
    secure: "encrypted" in req.socket || req.headers["x-forwarded-proto"] === "https",
    setCookie: (header) => void res.appendHeader("set-cookie", header),
  };
}

function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1] ?? null;
}

/**
 * The request target as a URL, or null when it is not origin-form (`/path?query`). Parsed against a
 * fixed origin by concatenation, not as a relative reference: `//x` relative to a base is a
 * network-path reference with host `x` (or, for `//`, an invalid URL that throws).
 */
export function parseRequestTarget(raw: string | undefined): URL | null {
  if (!raw?.startsWith("/")) return null;
  try {
    return new URL(`http://flowplane.invalid${raw}`);
  } catch {
    return null;
  }
}

// The API answers JSON only: nothing in it may run as a page or be framed.
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
// The dashboard loads its own scripts, styles and fonts and talks to its own origin (HTTP and
// websocket); no inline scripts, no third parties, never framed (clickjacking).
const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

function setSecurityHeaders(res: http.ServerResponse, csp: string): void {
  res.setHeader("content-security-policy", csp);
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "no-referrer");
  res.setHeader("x-frame-options", "DENY");
}

function sendError(res: http.ServerResponse, status: number, message: string, extra: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...extra }).end(JSON.stringify({ error: { message } }));
}

/** Answers a raw socket (before any upgrade) with a complete HTTP error response and closes it. */
function refuseSocket(socket: Duplex, status: number, reason: string, message: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(message)}\r\nconnection: close\r\n\r\n${message}`,
  );
}

function tokenMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startHttpServer(opts: {
  services: ApiServices;
  host: string;
  port: number;
  logger: Logger;
  metrics: ServerMetrics;
  dashboardDir: string | null;
  /** Request bodies (and websocket messages) above this many bytes are refused with 413. */
  maxBodyBytes: number;
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  serveSourceMaps: boolean;
}): Promise<HttpServerHandle> {
  const { services, logger, metrics } = opts;
  const shutdown = new AbortController();
  let ready = false;

  const trpcHandler = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    // Chunked bodies carry no content-length; tRPC counts their bytes and answers 413 past this.
    maxBodySize: opts.maxBodyBytes,
    createContext: ({ req, res }): Context => ({
      services,
      credential: bearer(req.headers.authorization),
      workspaceName: (req.headers["x-flowplane-workspace"] as string | undefined) ?? null,
      client: requestClient(req),
      signal: shutdown.signal,
      http: httpExchange(req, res),
    }),
    onError: ({ error, path: procedure }) => {
      if (error.code === "INTERNAL_SERVER_ERROR")
        logger.error({ err: error.cause ?? error, procedure }, "procedure failed");
    },
  });
  const serveStatic = opts.dashboardDir
    ? createStaticHandler({ root: opts.dashboardDir, serveSourceMaps: opts.serveSourceMaps })
    : null;

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = parseRequestTarget(req.url);
    if (!url) {
      setSecurityHeaders(res, API_CSP);
      return sendError(res, 400, "the request target must be a path starting with /");
    }
    const started = process.hrtime.bigint();
    const label = metrics.routeLabel(url.pathname);
    res.on("finish", () => metrics.observe(label, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
    const isApi = url.pathname.startsWith("/trpc/") || url.pathname === "/health" || url.pathname === "/metrics";
    setSecurityHeaders(res, isApi ? API_CSP : DASHBOARD_CSP);

    if (url.pathname.startsWith("/trpc/")) {
      // tRPC speaks GET (queries) and POST (mutations, batches); the fetch Request it builds would
      // throw on methods such as TRACE.
      if (req.method !== "GET" && req.method !== "POST")
        return sendError(res, 405, `method ${req.method} is not allowed here`, { allow: "GET, POST" });
      const declared = Number(req.headers["content-length"] ?? 0);
      if (declared > opts.maxBodyBytes) {
        // Refused before a byte of the body is read; closing the connection saves reading the rest.
        return sendError(res, 413, `request body of ${declared} bytes exceeds the limit of ${opts.maxBodyBytes}`, {
          connection: "close",
        });
      }
      return trpcHandler(req, res);
    }
    if ((url.pathname === "/health" || url.pathname === "/metrics") && req.method !== "GET" && req.method !== "HEAD")
      return sendError(res, 405, `method ${req.method} is not allowed here`, { allow: "GET, HEAD" });
    if (url.pathname.startsWith("/auth/sso/")) {
      if (req.method !== "GET")
        return sendError(res, 405, `method ${req.method} is not allowed here`, { allow: "GET" });
      const location = await handleSsoRequest(services, url, httpExchange(req, res), requestClient(req));
      if (location === null) return sendError(res, 404, "not found");
      res.writeHead(303, { location, "cache-control": "no-store" }).end();
      return;
    }
    if (url.pathname === "/health") return health(res);
    if (url.pathname === "/metrics") return sendMetrics(req, res);
    if (!serveStatic) return dashboardMissingPage(res);
    return serveStatic(url.pathname, req, res);
  }

  const server = http.createServer((req, res) => {
    // Last resort: every known malformed input is answered 4xx above; should a handler still throw,
    // that request gets a 500 and a log line, and the process goes on serving everyone else.
    const fail = (err: unknown) => {
      logger.error({ err, method: req.method, url: req.url?.slice(0, 200) }, "request handler failed");
      if (!res.headersSent) sendError(res, 500, "internal server error");
      else res.destroy();
    };
    try {
      route(req, res).catch(fail);
    } catch (err) {
      fail(err);
    }
  });
  // A malformed request line or header never reaches the handler: Node's parser rejects it. Answer
  // 400 (or 431 for oversized headers) on sockets that can still be written, and never let a reset
  // socket's error escape as an uncaught exception.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return void socket.destroy();
    if (err.code === "HPE_HEADER_OVERFLOW") return refuseSocket(socket, 431, "Request Header Fields Too Large", "");
    refuseSocket(socket, 400, "Bad Request", "malformed request");
  });

  // Node hands CONNECT requests to this event instead of the handler; without a listener it drops them.
  server.on("connect", (_req: http.IncomingMessage, socket: Duplex) => {
    socket.on("error", () => socket.destroy());
    refuseSocket(socket, 405, "Method Not Allowed", "CONNECT is not supported");
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

  async function sendMetrics(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (opts.metricsToken !== null && !tokenMatches(bearer(req.headers.authorization), opts.metricsToken)) {
      return sendError(res, 401, "metrics need the bearer token set in FLOWPLANE_METRICS_TOKEN", {
        "www-authenticate": "Bearer",
      });
    }
    res.writeHead(200, { "content-type": metrics.registry.contentType }).end(await metrics.registry.metrics());
  }

  // Websocket: the upgrade itself requires a valid credential, so unauthenticated sockets never open.
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxBodyBytes });
  const wsHandler = applyWSSHandler({
    wss,
    router: appRouter,
    createContext: ({ req }): Context => {
      // The upgrade handler below admitted only parseable targets.
      const url = parseRequestTarget(req.url)!;
      return {
        services,
        credential: url.searchParams.get("token"),
        workspaceName: url.searchParams.get("workspace"),
        client: requestClient(req),
        signal: shutdown.signal,
      };
    },
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that resets the connection while we authenticate emits 'error' on the raw socket;
    // unhandled, that would end the process.
    socket.on("error", () => socket.destroy());
    const url = parseRequestTarget(req.url);
    if (!url) return refuseSocket(socket, 400, "Bad Request", "the request target must be a path starting with /");
    if (url.pathname !== "/trpc-ws") return refuseSocket(socket, 404, "Not Found", "not found");
    services.authenticator
      .authenticate(url.searchParams.get("token"))
      .then((auth) => {
        if (!auth.ok) return refuseSocket(socket, 401, "Unauthorized", auth.reason);
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
      })
      .catch((err: unknown) => {
        logger.error({ err }, "websocket upgrade failed");
        socket.destroy();
      });
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
