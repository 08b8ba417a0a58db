import type { Database } from "@flowplane/db";
import { Authenticator } from "./auth/authenticator.ts";
import { RateLimiter, type RateLimit } from "./auth/rate-limiter.ts";
import { EventBus } from "./services/events.ts";
import { createResources } from "./services/resources.ts";
import { loadSigningSecret } from "./services/workspaces.ts";
import { defaultApiConfig, type ApiConfig, type ApiServices } from "./trpc.ts";

/** Wires the API's services to a database; call `events.start()` before serving. */
export async function createApiServices(options: {
  db: Database;
  config?: Partial<ApiConfig>;
  rateLimit?: RateLimit | null;
  authCacheTtlMs?: number;
  onEventError?: (err: Error) => void;
}): Promise<ApiServices> {
  const sessionSecret = await loadSigningSecret(options.db.prisma);
  return {
    db: options.db,
    resources: createResources(options.db),
    events: new EventBus(options.db.url, options.onEventError),
    authenticator: new Authenticator(options.db.prisma, sessionSecret, { cacheTtlMs: options.authCacheTtlMs ?? 5_000 }),
    rateLimiter: options.rateLimit ? new RateLimiter(options.rateLimit) : null,
    sessionSecret,
    config: { ...defaultApiConfig, ...options.config },
  };
}
