// A flow run's token (FLOWPLANE_RUN_TOKEN) is short-lived, and runs can last hours: the run renews
// it at half its lifetime, while its attempt still holds the run's claim (the server refuses to
// renew otherwise). A renewal that fails for a transient reason is retried until the token
// expires; one the server refuses stops renewing (the run's next write tells it why).
import { apiErrorInfo, type ApiClient, type ApiErrorInfo } from "./client.ts";
import type { Connection } from "./profile.ts";

export interface RunTokenRenewal {
  stop(): void;
}

/** When a run token expires, read from its (signed) payload; null if it cannot be read. */
export function runTokenExpiry(token: string): Date | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const exp = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown }).exp;
    return typeof exp === "number" ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

/**
 * Keeps `conn`'s run token fresh: the clients made from `conn` send whatever token it holds, so a
 * renewed token is used from the next request on. No-op for connections that are not run tokens.
 */
export function keepRunTokenFresh(
  api: ApiClient,
  conn: Connection,
  options: { onRefused?: (error: ApiErrorInfo) => void; minDelayMs?: number } = {},
): RunTokenRenewal {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const minDelayMs = options.minDelayMs ?? 1_000;
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => void renew(), Math.max(minDelayMs, delayMs));
    // Renewal must never keep a finished run's process alive.
    timer.unref();
  };
  const halfLifeFrom = (expiresAt: Date | null) => (expiresAt ? (expiresAt.getTime() - Date.now()) / 2 : 60_000);
  const renew = async (): Promise<void> => {
    try {
      const fresh = await api.auth.renewRunToken.mutate();
      conn.apiKey = fresh.token;
      schedule(halfLifeFrom(new Date(fresh.expiresAt)));
    } catch (err) {
      const info = apiErrorInfo(err);
      const transient = info.unreachable || info.httpStatus === 429 || (info.httpStatus ?? 0) >= 500;
      if (!transient) {
        stopped = true;
        options.onRefused?.(info);
        return;
      }
      // Retry well before the current token runs out.
      schedule(Math.min(info.retryAfterMs ?? 5_000, halfLifeFrom(runTokenExpiry(conn.apiKey))));
    }
  };
  if (conn.runToken) schedule(halfLifeFrom(runTokenExpiry(conn.apiKey)));
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
