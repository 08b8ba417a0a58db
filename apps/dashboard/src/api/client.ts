// tRPC clients. Queries and mutations go over HTTP with the session token as a bearer credential;
// the live event subscription uses a websocket, authenticated by the token in its URL (browsers
// cannot set headers on a websocket).
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  wsLink,
  TRPCClientError,
  type TRPCClient,
} from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@flowplane/api";
import type { Session } from "./session.ts";

export type Api = TRPCClient<AppRouter>;
export type Outputs = inferRouterOutputs<AppRouter>;
export type Inputs = inferRouterInputs<AppRouter>;

export type FlowRun = Outputs["flowRuns"]["get"];
export type TaskRunRow = Outputs["taskRuns"]["list"][number];
export type LogLine = Outputs["logs"]["list"][number];
export type Artifact = Outputs["artifacts"]["list"][number];
export type Deployment = Outputs["deployments"]["list"][number];
export type DeploymentDetail = Outputs["deployments"]["get"];
export type WorkPool = Outputs["workPools"]["list"][number];
export type WorkerRow = Outputs["workers"]["list"][number];
export type ApiKeyRow = Outputs["apiKeys"]["list"][number];
export type LiveEvent = Outputs["events"]["subscribe"] extends AsyncIterable<infer E> ? E : never;

export type ConnectionStatus = "connecting" | "open" | "closed";

/** A client without credentials, for signing in. */
export function createAnonymousApi(): Api {
  return createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${location.origin}/trpc` })] });
}

/** Queries and mutations: plain HTTP, nothing to close. */
export function createApi(session: Session): Api {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${location.origin}/trpc`,
        maxURLLength: 4000,
        headers: () => ({ authorization: `Bearer ${session.token}` }),
      }),
    ],
  });
}

/**
 * The live channel: a websocket that reconnects with backoff. It owns a socket, so it is opened in
 * an effect and closed by its cleanup (never created during render).
 */
export function openLiveClient(
  session: Session,
  onStatus: (status: ConnectionStatus) => void,
): { api: Api; close(): void } {
  const ws = createWSClient({
    url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/trpc-ws?token=${encodeURIComponent(session.token)}`,
    onOpen: () => onStatus("open"),
    onClose: () => onStatus("closed"),
    retryDelayMs: (attempt) => Math.min(500 * 2 ** attempt, 10_000),
    keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 5_000 },
  });
  onStatus("connecting");
  return { api: createTRPCClient<AppRouter>({ links: [wsLink({ client: ws })] }), close: () => void ws.close() };
}

/** The message to show for a failed call; API errors name the bad field already. */
export function errorMessage(err: unknown): string {
  if (err instanceof TRPCClientError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isUnauthenticated(err: unknown): boolean {
  return err instanceof TRPCClientError && (err.data as { code?: string } | undefined)?.code === "UNAUTHORIZED";
}

export function isForbidden(err: unknown): boolean {
  return err instanceof TRPCClientError && (err.data as { code?: string } | undefined)?.code === "FORBIDDEN";
}

/**
 * The input field an API error blames (the first segment of its path: `allowedDomains.2` names
 * `allowedDomains`), so a form can show the message next to that field; null when none is.
 */
export function errorField(err: unknown): string | null {
  if (!(err instanceof TRPCClientError)) return null;
  const path = (err.data as { path?: unknown } | undefined)?.path;
  return typeof path === "string" && path !== "" ? path.split(".")[0]! : null;
}
