/**
 * @flowplane/api — the control plane's API: tRPC routers by domain over services that own the
 * database. apps/server mounts it over HTTP and websockets; tests call it through `createCaller`.
 *
 * ```ts
 * const services = await createApiServices({ db, config });
 * const caller = createCaller({ services, credential: apiKey, workspaceName: null });
 * const run = await caller.flowRuns.get({ id });
 * ```
 */
export { appRouter, type AppRouter } from "./root.ts";
export {
  createCallerFactory,
  defaultApiConfig,
  type ApiConfig,
  type ApiServices,
  type Context,
  type HttpExchange,
} from "./trpc.ts";
export { handleSsoRequest } from "./auth/sso-routes.ts";
export { ApiError, type ApiErrorCode } from "./errors.ts";
export { CSRF_HEADER, parseCookies } from "./auth/cookies.ts";
export { dashboardLink } from "./services/accounts/tokens.ts";
export { pruneSignInRecords } from "./services/accounts/pruning.ts";
export { createSmtpMailer, type Mailer, type Mail, type SmtpConfig } from "./services/mailer.ts";
export type { Actor, Principal } from "./auth/authenticator.ts";
export { Authenticator } from "./auth/authenticator.ts";
export { RateLimiter, type RateLimit } from "./auth/rate-limiter.ts";
export { FairScheduler, type FairnessLimits } from "./auth/fair-scheduler.ts";
export { API_KEY_SCOPES, type ApiKeyScope } from "./auth/api-keys.ts";
export { EventBus, type FlowplaneEvent } from "./services/events.ts";
export { createResources, type Resources } from "./services/resources.ts";
export {
  bootstrapDefaultWorkspace,
  createApiKey,
  createOrganization,
  createWorkspace,
  DEFAULT_WORKSPACE,
} from "./services/workspaces.ts";
export { sweepLiveness, type LivenessConfig } from "./services/liveness.ts";
export {
  scheduleRuns,
  backfillDeployment,
  markLateRuns,
  pruneByRetention,
  defaultSchedulerConfig,
  type SchedulerConfig,
  type RetentionPolicy,
} from "./services/scheduler/index.ts";
export { compactFlowRunCounts, countFlowRuns, type CompactionResult } from "./services/flow-run-counts.ts";
export { createApiServices } from "./services.ts";
export { TokenSigner, TOKEN_ISSUER, type SigningKeySet, type TokenVerification } from "./auth/token-signer.ts";
export {
  MasterKeyring,
  SealedValueError,
  generateMasterKey,
  parseMasterKey,
  masterKeyId,
  type SealedValueErrorCode,
} from "./crypto/envelope.ts";
export {
  loadSigningKeys,
  rotateSigningKey,
  rotateSigningKeyIfDue,
  retiredKeyWindowSeconds,
  MasterKeyMismatchError,
  type SigningKeyRotationPolicy,
} from "./services/signing-keys.ts";
export type { FlowRunView } from "./services/flow-runs/reads.ts";
export type { ClaimedRun, DeliveredRun } from "./services/claims.ts";
export { RUN_TOKEN_PREFIX } from "./auth/run-tokens.ts";
export type { ProposalOutcome } from "@flowplane/core";
export { applyDeployment, type DeploymentSpec } from "./services/deployments.ts";
