// Wires the signed-in session to the tRPC clients, the query cache and the live event stream.
// Pages read data one way: `useTRPC()` gives typed `queryOptions()` / `mutationOptions()` and the
// query keys and filters to invalidate with; `useTRPCClient()` is for calls no query caches (log
// tails).
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCContext, createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import type { AppRouter } from "@flowplane/api";
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { createApi, isUnauthenticated, openLiveClient, type ConnectionStatus } from "./client.ts";
import { createInvalidator, LiveHub } from "./live.ts";
import { signOut, type Session } from "./session.ts";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

interface ApiContextValue {
  hub: LiveHub;
  status: ConnectionStatus;
  session: Session;
}

const ApiContext = createContext<ApiContextValue | null>(null);

function useApiContext(): ApiContextValue {
  const ctx = useContext(ApiContext);
  if (!ctx) throw new Error("used outside ApiProvider");
  return ctx;
}

export const useLiveHub = (): LiveHub => useApiContext().hub;
export const useConnectionStatus = (): ConnectionStatus => useApiContext().status;
export const useCurrentSession = (): Session => useApiContext().session;

const EXPIRED = "Your session ended (it expired, or its API key was revoked). Sign in again.";

export function ApiProvider({ session, children }: { session: Session; children: ReactNode }) {
  const [status, setStatus] = useState<ConnectionStatus>("connecting");
  // App mounts one provider per session (keyed by its token), so a new session (another
  // workspace) gets a fresh cache and event hub: nothing leaks across workspaces.
  const [queryClient] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({ onError: (err) => isUnauthenticated(err) && signOut(EXPIRED) }),
        mutationCache: new MutationCache({ onError: (err) => isUnauthenticated(err) && signOut(EXPIRED) }),
        defaultOptions: {
          // Pages show cached data at once and refetch on mount; live events keep them current after.
          queries: {
            staleTime: 0,
            refetchOnWindowFocus: false,
            retry: (count, err) => !isUnauthenticated(err) && count < 2,
          },
        },
      }),
  );
  const api = useMemo(() => createApi(session), [session]);
  const [hub] = useState(() => new LiveHub());

  useEffect(() => {
    const live = openLiveClient(session, setStatus);
    const invalidator = createInvalidator(queryClient, createTRPCOptionsProxy<AppRouter>({ client: api, queryClient }));
    let wasOpen = false;
    const sub = live.api.events.subscribe.subscribe(undefined, {
      onStarted: () => {
        // After a reconnect, events may have been missed while we were away: refetch what is shown.
        if (wasOpen) void queryClient.invalidateQueries();
        wasOpen = true;
      },
      onData: (event) => {
        invalidator.handle(event);
        hub.emit(event);
      },
      onError: () => undefined,
    });
    const msLeft = new Date(session.expiresAt).getTime() - Date.now();
    const expiry = setTimeout(
      () => signOut("Your session expired. Sign in again."),
      Math.max(0, Math.min(msLeft, 2 ** 31 - 1)),
    );
    return () => {
      clearTimeout(expiry);
      sub.unsubscribe();
      invalidator.dispose();
      live.close();
    };
  }, [session, hub, queryClient, api]);

  const value = useMemo(() => ({ hub, status, session }), [hub, status, session]);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={api} queryClient={queryClient}>
        <ApiContext.Provider value={value}>{children}</ApiContext.Provider>
      </TRPCProvider>
    </QueryClientProvider>
  );
}
