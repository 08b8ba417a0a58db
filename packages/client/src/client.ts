// The typed API client used by the CLI, the SDK and workers.
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpLink,
  splitLink,
  TRPCClientError,
  wsLink,
  type TRPCClient,
  type TRPCLink,
} from "@trpc/client";
import type { AppRouter } from "@flowplane/api";
import WebSocket from "ws";
import type { Connection } from "./profile.ts";

/**
 * Named, not inferred, so that declarations refer to `AppRouter` by name: the published SDK maps that
 * one name to tRPC's generic router type instead of shipping the control plane's types (see
 * infra/build/tsdown-preset.ts).
 */
export type ApiClient = TRPCClient<AppRouter>;

export interface ApiClientOptions {
  /** Open a websocket for subscriptions (live updates). */
  withSubscriptions?: boolean;
  /**
   * Send the calls made in one event-loop turn in one HTTP request, for callers that make many at
   * once. tRPC's batching waits for a timer (≥ 1 ms) before it sends, so a caller making one call
   * at a time, where latency is what counts (a run's own states, a worker's claims), is faster
   * without it. Calls that hold their answer back (the worker's long-poll) are never batched: a
   * batch is answered when its last call is.
   */
  batching?: boolean;
}

export function createApiClient(conn: Connection, options: ApiClientOptions = {}): ApiClient {
  const headers = () => ({
    authorization: `Bearer ${conn.apiKey}`,
    ...(conn.workspace ? { "x-flowplane-workspace": conn.workspace } : {}),
  });
  const url = `${conn.apiUrl}/trpc`;
  const single = httpLink<AppRouter>({ url, headers });
  const http: TRPCLink<AppRouter> = options.batching
    ? splitLink({
        condition: (op) => LONG_CALLS.has(op.path),
        true: single,
        false: httpBatchLink<AppRouter>({ url, headers, maxItems: 100, maxURLLength: 8_000 }),
      })
    : single;
  if (!options.withSubscriptions) return createTRPCClient<AppRouter>({ links: [http] });
  const wsUrl = `${conn.apiUrl.replace(/^http/, "ws")}/trpc-ws?token=${encodeURIComponent(conn.apiKey)}${conn.workspace ? `&workspace=${encodeURIComponent(conn.workspace)}` : ""}`;
  const wsClient = createWSClient({
    url: wsUrl,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: (attempt) => Math.min(200 * 2 ** attempt, 5_000),
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({ condition: (op) => op.type === "subscription", true: wsLink({ client: wsClient }), false: http }),
    ],
  });
  // The client is a proxy that turns every property into a procedure path, so the websocket's
  // closer is kept beside it rather than on it.
  websockets.set(client, wsClient);
  return client;
}

/** Procedures that hold their answer back (long-polls): never batched with others. */
const LONG_CALLS = new Set(["workers.poll"]);

const websockets = new WeakMap<object, { close(): void }>();

/** Closes a client's websocket, if it opened one (clients made withSubscriptions). */
export function closeApiClient(client: object): void {
  websockets.get(client)?.close();
}

export interface ApiErrorInfo {
  code: string;
  message: string;
  path: string | null;
  retryAfterMs: number | null;
  httpStatus: number | null;
  /** True when the server could not be reached at all. */
  unreachable: boolean;
}

/** Normalises anything a client call can throw into the API's error shape. */
export function apiErrorInfo(err: unknown): ApiErrorInfo {
  if (err instanceof TRPCClientError) {
    const data = (err.data ?? {}) as {
      code?: string;
      apiCode?: string;
      path?: string | null;
      retryAfterMs?: number | null;
      httpStatus?: number;
    };
    const unreachable =
      !err.data &&
      /fetch failed|ECONNREFUSED|ECONNRESET|socket|network/i.test(
        `${err.message} ${String((err.cause as Error | undefined)?.message ?? "")}`,
      );
    return {
      code: data.apiCode ?? data.code ?? (unreachable ? "UNREACHABLE" : "ERROR"),
      message: err.message,
      path: data.path ?? null,
      retryAfterMs: data.retryAfterMs ?? null,
      httpStatus: data.httpStatus ?? null,
      unreachable,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: "ERROR",
    message,
    path: null,
    retryAfterMs: null,
    httpStatus: null,
    unreachable: /fetch failed|ECONNREFUSED/i.test(message),
  };
}
