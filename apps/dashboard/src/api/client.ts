// tRPC clients. Queries and mutations go over HTTP with the session token as a bearer credential;
// subscriptions share one websocket, authenticated by the token in its URL (browsers cannot set
// headers on a websocket).
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink, TRPCClientError, type TRPCClient } from "@trpc/client";
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

export interface ApiHandle {
  api: Api;
  close(): void;
}

/** A client without credentials, for signing in. */
export function createAnonymousApi(): Api {
  return createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${location.origin}/trpc` })] });
}

export function createApi(session: Session, onStatus: (status: ConnectionStatus) => void): ApiHandle {
  const wsUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/trpc-ws?token=${encodeURIComponent(session.token)}`;
  const ws = createWSClient({
    url: wsUrl,
    onOpen: () => onStatus("open"),
    onClose: () => onStatus("closed"),
    retryDelayMs: (attempt) => Math.min(500 * 2 ** attempt, 10_000),
    keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 5_000 },
  });
  onStatus("connecting");
  const api = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: wsLink({ client: ws }),
        false: httpBatchLink({
          url: `${location.origin}/trpc`,
          maxURLLength: 4000,
          headers: () => ({ authorization: `Bearer ${session.token}` }),
        }),
      }),
    ],
  });
  return { api, close: () => void ws.close() };
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
