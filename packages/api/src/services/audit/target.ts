// What of a call's input the audit log keeps: identifiers, through an allowlist. A field is kept
// only when its name is listed here and its value is a short scalar (or a short list of them);
// everything else - secret values, passwords, keys, parameters, job variables, log lines - never
// reaches the audit log, whatever a procedure's input looks like now or later. Presented API keys
// are reduced to their public prefix.
import { parseApiKey } from "../../auth/api-keys.ts";

/** Input fields that name what a call acts on. Adding one here is a decision: it must never carry a secret. */
const TARGET_FIELDS = new Set([
  "id",
  "ids",
  "name",
  "names",
  "flowRunId",
  "taskRunId",
  "flowId",
  "deploymentId",
  "deploymentName",
  "deploymentNames",
  "flowName",
  "workPoolId",
  "workPoolName",
  "poolName",
  "workQueueName",
  "workerId",
  "workerName",
  "workspace",
  "workspaceName",
  "organizationId",
  "userId",
  "serviceAccountId",
  "apiKeyId",
  "email",
  "role",
  "scope",
  "paused",
  "allowDeploy",
  "type",
  "from",
  "to",
  "expiresInDays",
]);
/** Fields whose value is a credential: only its public prefix is kept, under `apiKeyPrefix`. */
const CREDENTIAL_FIELDS = new Set(["apiKey", "key"]);
const MAX_STRING = 200;
const MAX_LIST = 20;

type Scalar = string | number | boolean;

function keepScalar(value: unknown): Scalar | undefined {
  if (typeof value === "string") return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value === "number" || typeof value === "boolean") return value;
  return undefined;
}

/** The identifiers of a call's raw input (an object), or null when it names none. */
export function auditTarget(input: unknown): Record<string, unknown> | null {
  if (!input || typeof input !== "object" || Array.isArray(input)) return null;
  const target: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(input as Record<string, unknown>)) {
    if (CREDENTIAL_FIELDS.has(field)) {
      const prefix = typeof value === "string" ? parseApiKey(value)?.prefix : undefined;
      if (prefix) target["apiKeyPrefix"] = prefix;
      continue;
    }
    if (!TARGET_FIELDS.has(field)) continue;
    if (Array.isArray(value)) {
      const kept = value
        .slice(0, MAX_LIST)
        .map(keepScalar)
        .filter((v) => v !== undefined);
      if (kept.length > 0)
        target[field] = value.length > MAX_LIST ? [...kept, `… ${value.length - MAX_LIST} more`] : kept;
      continue;
    }
    const kept = keepScalar(value);
    if (kept !== undefined) target[field] = kept;
  }
  return Object.keys(target).length > 0 ? target : null;
}

const idOf = (value: unknown): string | null => {
  const id = value && typeof value === "object" ? (value as { id?: unknown }).id : undefined;
  return typeof id === "string" && id.length <= 64 ? id : null;
};

/** Result fields that hold the object a mutation created (`apiKeys.create` answers `{ key, apiKey }`). */
const CREATED_FIELDS = ["apiKey", "serviceAccount", "user", "invitation", "workPool", "deployment", "flowRun"];

/**
 * The id a successful mutation created or changed, when its result names one (`{ id }`, or
 * `{ apiKey: { id } }`). Nothing else of a result is kept: results can carry a new key in clear.
 */
export function resultId(data: unknown): string | null {
  if (!data || typeof data !== "object") return null;
  const own = idOf(data);
  if (own) return own;
  for (const field of CREATED_FIELDS) {
    const nested = idOf((data as Record<string, unknown>)[field]);
    if (nested) return nested;
  }
  return null;
}
