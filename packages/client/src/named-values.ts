// Reading the secrets and variables that a run's configuration names (`{{ secret.X }}`,
// `{{ variable.X }}`), for the two places that resolve them before the flow starts: the worker (job
// variables) and the runner bootstrap (pull steps), and for `flowplane deploy` (build and push
// steps). Each asks in one round trip per kind, in parallel.
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
  return readBoth(api, names, () =>
    api.secrets.resolveForRun.mutate({
      flowRunId: names.flowRunId,
      names: names.secrets,
      ...(names.claimToken ? { claimToken: names.claimToken } : {}),
    }),
  );
}

/**
 * The same for `flowplane deploy`'s build and push steps: secrets through resolveForDeploy (which
 * refuses, naming them, any a workspace admin did not allow at deploy), variables as for runs.
 */
export async function readDeployValues(
  api: ApiClient,
  names: {
    /** `FLOW/DEPLOYMENT` of each deployment the steps are run for. */
    deploymentNames: string[];
    steps: { phase: "build" | "push"; index: number; step: string; id: string | null; names: string[] }[];
    variables: string[];
  },
): Promise<NamedValues> {
  const secrets = [...new Set(names.steps.flatMap((s) => s.names))];
  return readBoth(api, { secrets, variables: names.variables }, async () => ({
    ...(await api.secrets.resolveForDeploy.mutate({ deploymentNames: names.deploymentNames, steps: names.steps })),
    missing: [],
  }));
}

/** Secrets (through `readSecrets`) and variables in parallel, one round trip each, only when named. */
async function readBoth(
  api: ApiClient,
  names: { secrets: string[]; variables: string[] },
  readSecrets: () => Promise<{ values: Record<string, string>; missing: string[] }>,
): Promise<NamedValues> {
  const none = { values: {}, missing: [] as string[] };
  const [secrets, variables] = await Promise.all([
    names.secrets.length > 0 ? readSecrets() : none,
    names.variables.length > 0 ? api.variables.getMany.query({ names: names.variables }) : none,
  ]);
  return {
    secrets: secrets.values,
    variables: variables.values,
    missing: [...secrets.missing.map((n) => `secret "${n}"`), ...variables.missing.map((n) => `variable "${n}"`)],
  };
}
