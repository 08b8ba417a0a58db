import type { Database } from "@flowplane/db";
import { Authenticator } from "./auth/authenticator.ts";
import { OidcClient } from "./auth/oidc/client.ts";
import { FairScheduler, type FairnessLimits } from "./auth/fair-scheduler.ts";
import { RateLimiter, type RateLimit } from "./auth/rate-limiter.ts";
import { TokenSigner } from "./auth/token-signer.ts";
import type { MasterKeyring } from "./crypto/envelope.ts";
import { EventBus } from "./services/events.ts";
import type { Mailer } from "./services/mailer.ts";
import { createResources } from "./services/resources.ts";
import { assertSecretsOpen } from "./services/secrets.ts";
import { loadSigningKeys, retiredKeyWindowSeconds } from "./services/signing-keys.ts";
import { defaultApiConfig, type ApiConfig, type ApiServices } from "./trpc.ts";

/**
 * Wires the API's services to a database; call `events.start()` before serving. Reads the signing
 * keys first (sealing any stored in plain text by an older version), so a master key that cannot
 * open them fails here with MasterKeyMismatchError, before anything is served or written.
 */
export async function createApiServices(options: {
  db: Database;
  masterKeys: MasterKeyring;
  config?: Partial<ApiConfig>;
  rateLimit?: RateLimit | null;
  fairness?: FairnessLimits | null;
  authCacheTtlMs?: number;
  mailer?: Mailer | null;
  onEventError?: (err: Error) => void;
  /** A batch of audit entries could not be written (they are kept and retried). */
  onAuditError?: (err: Error) => void;
  /** How often the audit log is written (1 s by default); tests that flush it themselves set it long. */
  auditFlushIntervalMs?: number;
}): Promise<ApiServices> {
  const config = { ...defaultApiConfig, ...options.config };
  const prisma = options.db.prisma;
  await assertSecretsOpen(prisma, options.masterKeys);
  const policy = { keepRetiredSeconds: retiredKeyWindowSeconds(config.maxTokenTtlSeconds) };
  const tokens = new TokenSigner(() => loadSigningKeys(prisma, options.masterKeys, policy), {
    maxTtlSeconds: config.maxTokenTtlSeconds,
    initialKeys: await loadSigningKeys(prisma, options.masterKeys, policy),
  });
  return {
    db: options.db,
    resources: createResources(options.db, {
      ...(options.onAuditError ? { onAuditError: options.onAuditError } : {}),
      ...(options.auditFlushIntervalMs !== undefined ? { auditFlushIntervalMs: options.auditFlushIntervalMs } : {}),
    }),
    events: new EventBus(options.db.url, options.onEventError),
    authenticator: new Authenticator(prisma, tokens, { cacheTtlMs: options.authCacheTtlMs ?? 5_000 }),
    rateLimiter: options.rateLimit ? new RateLimiter(options.rateLimit) : null,
    scheduler: options.fairness ? new FairScheduler(options.fairness) : null,
    mailer: options.mailer ?? null,
    tokens,
    masterKeys: options.masterKeys,
    oidc: new OidcClient(),
    config,
  };
}
