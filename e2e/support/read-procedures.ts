// Every read (query) procedure of the API router, with inputs naming what a workspace holds, for
// tests that must see every answer the API can give (the secrets canary test). The list comes from
// the router itself, so a new query procedure without an entry in READ_INPUTS is reported by
// `missingReadInputs` instead of being silently left out.
import { appRouter } from "@flowplane/api";
import type { ApiClient } from "@flowplane/client";

/** The ids and names the inputs are built from: everything of the workspace the test made. */
export interface WorkspaceIds {
  flowRunIds: string[];
  taskRunIds: string[];
  flowIds: string[];
  flowNames: string[];
  deploymentIds: string[];
  workPoolNames: string[];
  workerIds: string[];
  secretNames: string[];
  variableNames: string[];
  artifactKeys: string[];
}

type Inputs = (ids: WorkspaceIds) => unknown[];
const none: Inputs = () => [undefined];

/** For each query procedure, the inputs it is called with (one call per input). */
export const READ_INPUTS: Record<string, Inputs> = {
  // Public; an invitation's token is only ever mailed, so a made-up one (answered with an error).
  "auth.invitation": () => [{ token: "not-an-invitation-token-0123456789" }],
  "auth.whoami": none,
  "workspaces.current": none,
  "apiKeys.list": none,
  "members.list": none,
  "serviceAccounts.list": none,
  "flows.list": none,
  "flows.get": (ids) => ids.flowIds.map((id) => ({ id })),
  "flowRuns.get": (ids) => ids.flowRunIds.map((id) => ({ id })),
  "flowRuns.list": (ids) => [
    {},
    { states: ["FAILED"] },
    ...ids.flowNames.map((flowName) => ({ flowName })),
    ...ids.workPoolNames.map((workPoolName) => ({ workPoolName })),
    ...ids.flowRunIds.map((parentFlowRunId) => ({ parentFlowRunId })),
  ],
  "flowRuns.history": (ids) => ids.flowRunIds.map((id) => ({ id })),
  "flowRuns.counts": () => [
    { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() },
  ],
  "taskRuns.list": (ids) => ids.flowRunIds.map((flowRunId) => ({ flowRunId })),
  "taskRuns.history": (ids) => ids.taskRunIds.map((id) => ({ id })),
  "logs.list": (ids) => ids.flowRunIds.map((flowRunId) => ({ flowRunId, limit: 5_000 })),
  "artifacts.list": (ids) => [
    {},
    ...ids.flowRunIds.map((flowRunId) => ({ flowRunId })),
    ...ids.artifactKeys.map((key) => ({ key })),
  ],
  "deployments.list": (ids) => [undefined, ...ids.flowNames.map((flowName) => ({ flowName }))],
  "deployments.get": (ids) => ids.deploymentIds.map((id) => ({ id })),
  "workPools.list": none,
  "workPools.get": (ids) => ids.workPoolNames.map((name) => ({ name })),
  "workQueues.list": (ids) => ids.workPoolNames.map((workPoolName) => ({ workPoolName })),
  "workers.infrastructureLocations": (ids) => ids.workerIds.map((workerId) => ({ workerId })),
  "workers.list": () => [{}],
  "secrets.list": none,
  "secrets.reads": (ids) => ids.secretNames.map((name) => ({ name, limit: 1_000 })),
  "variables.get": (ids) => ids.variableNames.map((name) => ({ name })),
  "variables.getMany": (ids) => [{ names: ids.variableNames }],
  "variables.list": none,
  "audit.list": () => [{ limit: 500 }],
  "audit.export": () => [{}],
  "sso.get": none,
};

/** The router's query procedures, by path. */
export function queryProcedures(): string[] {
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;
  return Object.entries(procedures)
    .filter(([, p]) => p._def.type === "query")
    .map(([path]) => path);
}

/** Query procedures without inputs here, and entries that are no longer query procedures. */
export function missingReadInputs(): { missing: string[]; stale: string[] } {
  const queries = queryProcedures();
  return {
    missing: queries.filter((p) => !(p in READ_INPUTS)),
    stale: Object.keys(READ_INPUTS).filter((p) => !queries.includes(p)),
  };
}

export interface ReadAnswer {
  call: string;
  /** "OK", or the error's code (a refusal is an answer too: its message is text the caller sees). */
  outcome: string;
  /** The answer's JSON, or the error's message and data. */
  text: string;
}

/** Calls every query procedure with every input of READ_INPUTS through `api` (over HTTP), one at a time. */
export async function callEveryRead(api: ApiClient, ids: WorkspaceIds): Promise<ReadAnswer[]> {
  const answers: ReadAnswer[] = [];
  const client = api as unknown as Record<string, Record<string, { query(input: unknown): Promise<unknown> }>>;
  for (const path of queryProcedures()) {
    const [ns, name] = path.split(".") as [string, string];
    for (const [i, input] of (READ_INPUTS[path]?.(ids) ?? []).entries()) {
      const call = `${path}#${i}`;
      try {
        answers.push({ call, outcome: "OK", text: JSON.stringify(await client[ns]![name]!.query(input)) ?? "" });
      } catch (err) {
        const e = err as { message: string; data?: unknown; shape?: { data?: { code?: string } } };
        const code = (e.data as { code?: string } | undefined)?.code ?? e.shape?.data?.code ?? "ERROR";
        answers.push({ call, outcome: code, text: `${e.message} ${JSON.stringify(e.data ?? null)}` });
      }
    }
  }
  return answers;
}
