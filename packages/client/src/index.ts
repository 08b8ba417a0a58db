/**
 * @flowplane/client — the typed API client and the local profile, shared by the CLI, the SDK and
 * workers.
 *
 * ```ts
 * const conn = await resolveConnection();
 * const api = createApiClient(conn!);
 * const runs = await api.flowRuns.list.query({ limit: 10 });
 * ```
 */
export { createApiClient, closeApiClient, apiErrorInfo, type ApiClient, type ApiErrorInfo } from "./client.ts";
export { readDeployValues, readNamedValues, type NamedValues } from "./named-values.ts";
export { keepRunTokenFresh, runTokenExpiry, type RunTokenRenewal } from "./run-token.ts";
export {
  flowplaneHome,
  profilePath,
  readProfiles,
  writeProfiles,
  saveProfileKey,
  resolveConnection,
  resolveConnectionSync,
  type Connection,
  type Profile,
  type ProfileFile,
} from "./profile.ts";
export type { AppRouter, FlowRunView, ClaimedRun, DeliveredRun, ProposalOutcome } from "@flowplane/api";
