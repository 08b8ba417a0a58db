// Reading the secrets and variables that a run's configuration names (`{{ secret.X }}`,
// `{{ variable.X }}`), for the two places that resolve them before the flow starts: the worker (job
// variables) and the runner bootstrap (pull steps). Both ask in one round trip each, in parallel.
import type { ApiClient } from "./client.ts";

export interface NamedValues {
  secrets: Record<string, string>;
  variables: Record<string, unknown>;
  /** What does not exist, as `secret "X"` / `variable "Y"`, for the run's error message. */
  missing: string[];
}

export async function readNamedValues(
  api: ApiClient,
  names: { flowRunId: string; claimToken?: string; secrets: string[]; variables: string[] },
): Promise<NamedValues> {
  const none = { values: {}, missing: [] as string[] };
  const [secrets, variables] = await Promise.all([
    names.secrets.length > 0
      ? api.secrets.resolveForRun.mutate({
          flowRunId: names.flowRunId,
          names: names.secrets,
          ...(names.claimToken ? { claimToken: names.claimToken } : {}),
        })
      : none,
    names.variables.length > 0 ? api.variables.getMany.query({ names: names.variables }) : none,
  ]);
  return {
    secrets: secrets.values,
    variables: variables.values,
    missing: [...secrets.missing.map((n) => `secret "${n}"`), ...variables.missing.map((n) => `variable "${n}"`)],
  };
}
