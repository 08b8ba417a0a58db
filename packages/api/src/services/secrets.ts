// Workspace secrets. Values are sealed with the master key (crypto/envelope.ts), bound to their
// workspace and name, and leave this module in clear only through `readSecretValues` (runs and
// workers) and `readSecretsForDeploy` (build and push steps, for secrets an admin allowed), which
// record every read. Everything else returns metadata.
import type { Db } from "@flowplane/db";
import type { Resources } from "./resources.ts";
import { isSealed, type MasterKeyring } from "../crypto/envelope.ts";
import { ACTIVE_STATE_TYPES, findReferences } from "@flowplane/core";
import { ApiError } from "../errors.ts";
import { fenceRefusal, type Proposer } from "./run-state/fence.ts";
import { MasterKeyMismatchError } from "./signing-keys.ts";

const sealingContext = (workspaceId: string, name: string) => `secret:${workspaceId}:${name}`;

const metadataSelect = {
  name: true,
  createdAt: true,
  updatedAt: true,
  lastReadAt: true,
  allowDeploy: true,
  createdBy: true,
  updatedBy: true,
} as const;

export interface SecretMetadata {
  name: string;
  createdAt: string;
  updatedAt: string;
  lastReadAt: string | null;
  /** `flowplane deploy` may read it for build and push steps (set by a workspace admin). */
  allowDeploy: boolean;
  /** The API keys that created and last updated it (id and name). */
  createdBy: { id: string; name: string } | null;
  updatedBy: { id: string; name: string } | null;
}

async function present(
  db: Db,
  rows: readonly {
    name: string;
    createdAt: Date;
    updatedAt: Date;
    lastReadAt: Date | null;
    allowDeploy: boolean;
    createdBy: string | null;
    updatedBy: string | null;
  }[],
): Promise<SecretMetadata[]> {
  const keyIds = [...new Set(rows.flatMap((r) => [r.createdBy, r.updatedBy]).filter((k): k is string => !!k))];
  const keys = keyIds.length
    ? await db.apiKey.findMany({ where: { id: { in: keyIds } }, select: { id: true, name: true } })
    : [];
  const byId = new Map(keys.map((k) => [k.id, k]));
  const who = (id: string | null) => (id ? (byId.get(id) ?? { id, name: "(deleted key)" }) : null);
  return rows.map((r) => ({
    name: r.name,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    lastReadAt: r.lastReadAt?.toISOString() ?? null,
    allowDeploy: r.allowDeploy,
    createdBy: who(r.createdBy),
    updatedBy: who(r.updatedBy),
  }));
}

/**
 * Creates or replaces a secret's value; returns its metadata and whether it was new. `allowDeploy`
 * given sets the flag too (the router lets only admins give it); absent, a new secret is not
 * allowed at deploy and an existing one keeps its flag.
 */
export async function setSecret(
  { prisma: db }: Pick<Resources, "prisma">,
  masterKeys: MasterKeyring,
  input: { workspaceId: string; name: string; value: string; apiKeyId: string | null; allowDeploy?: boolean },
): Promise<{ created: boolean; secret: SecretMetadata }> {
  const value = masterKeys.seal(input.value, sealingContext(input.workspaceId, input.name));
  const existing = await db.secret.findUnique({
    where: { workspaceId_name: { workspaceId: input.workspaceId, name: input.name } },
    select: { id: true },
  });
  const row = await db.secret.upsert({
    where: { workspaceId_name: { workspaceId: input.workspaceId, name: input.name } },
    create: {
      workspaceId: input.workspaceId,
      name: input.name,
      value,
      allowDeploy: input.allowDeploy ?? false,
      createdBy: input.apiKeyId,
      updatedBy: input.apiKeyId,
    },
    update: {
      value,
      updatedBy: input.apiKeyId,
      ...(input.allowDeploy !== undefined ? { allowDeploy: input.allowDeploy } : {}),
    },
    select: metadataSelect,
  });
  return { created: !existing, secret: (await present(db, [row]))[0]! };
}

/** Newest first. */
export async function listSecrets(
  { prisma: db }: Pick<Resources, "prisma">,
  workspaceId: string,
): Promise<SecretMetadata[]> {
  const rows = await db.secret.findMany({
    where: { workspaceId },
    orderBy: { createdAt: "desc" },
    select: metadataSelect,
  });
  return present(db, rows);
}

/** Turns a secret's allow-deploy flag on or off, its value untouched (the router lets only admins). */
export async function setSecretAllowDeploy(
  { prisma: db }: Pick<Resources, "prisma">,
  workspaceId: string,
  name: string,
  allowDeploy: boolean,
): Promise<SecretMetadata> {
  const { count } = await db.secret.updateMany({ where: { workspaceId, name }, data: { allowDeploy } });
  if (count === 0) throw new ApiError("NOT_FOUND", `name: secret "${name}" not found`, { path: "name" });
  const row = await db.secret.findUniqueOrThrow({
    where: { workspaceId_name: { workspaceId, name } },
    select: metadataSelect,
  });
  return (await present(db, [row]))[0]!;
}

export async function deleteSecret(
  { prisma: db }: Pick<Resources, "prisma">,
  workspaceId: string,
  name: string,
): Promise<void> {
  const { count } = await db.secret.deleteMany({ where: { workspaceId, name } });
  if (count === 0) throw new ApiError("NOT_FOUND", `name: secret "${name}" not found`, { path: "name" });
}

export interface SecretReader {
  workspaceId: string;
  apiKeyId: string;
  flowRunId: string | null;
  workerId: string | null;
  /** The run's own token, or the key of the worker holding the run. */
  reader: SecretReaderKind;
}

/**
 * The values of `names` for a reader that needs them at run time, each read recorded (who, which
 * run or worker, when). Names with no secret come back in `missing`, so the caller can fail the run
 * naming them; nothing is recorded for those.
 */
export async function readSecretValues(
  { prisma: db }: Pick<Resources, "prisma">,
  masterKeys: MasterKeyring,
  reader: SecretReader,
  names: readonly string[],
): Promise<{ values: Record<string, string>; missing: string[] }> {
  const unique = [...new Set(names)];
  const rows = await db.secret.findMany({
    where: { workspaceId: reader.workspaceId, name: { in: unique } },
    select: { id: true, name: true, value: true },
  });
  const values: Record<string, string> = {};
  for (const row of rows)
    values[row.name] = masterKeys.openText(row.value, sealingContext(reader.workspaceId, row.name));
  if (rows.length > 0) {
    const now = new Date();
    await db.$transaction([
      db.secretRead.createMany({
        data: rows.map((r) => ({
          workspaceId: reader.workspaceId,
          secretId: r.id,
          flowRunId: reader.flowRunId,
          workerId: reader.workerId,
          apiKeyId: reader.apiKeyId,
          reader: reader.reader,
          readAt: now,
        })),
      }),
      db.secret.updateMany({ where: { id: { in: rows.map((r) => r.id) } }, data: { lastReadAt: now } }),
    ]);
  }
  return { values, missing: unique.filter((n) => !(n in values)) };
}

/** Who runs `flowplane deploy`: a person (sign-in or their key) or a service account's key. */
/** Who deploys: always a service account's key (secret values never go to people). */
export interface DeployReader {
  workspaceId: string;
  apiKeyId: string | null;
  serviceAccountId: string;
}

/** A build or push step that references secrets, as `flowplane deploy` names it. */
export interface DeployStepSecrets {
  /** `push step 1 (docker_push "push")`, as the step's failures name it. */
  step: string;
  names: readonly string[];
}

/** The command that allows `name` at deploy, for refusals (admins only may run it). */
export const allowDeployCommand = (name: string, exists: boolean) =>
  exists ? `flowplane secret set ${name} --allow-deploy --keep-value` : `flowplane secret set ${name} --allow-deploy`;

/**
 * The values build and push steps reference, for `flowplane deploy` (the router has checked the
 * caller may deploy). Every name must be a secret a workspace admin allowed at deploy
 * (`allowDeploy`), or nothing is returned: the refusal names the secrets and the command that
 * allows them. Each read is recorded per secret and step, with the reader and the deployments.
 */
export async function readSecretsForDeploy(
  { prisma: db }: Pick<Resources, "prisma">,
  masterKeys: MasterKeyring,
  reader: DeployReader,
  request: { deployments: readonly string[]; steps: readonly DeployStepSecrets[] },
): Promise<{ values: Record<string, string> }> {
  const unique = [...new Set(request.steps.flatMap((s) => s.names))].sort();
  const rows = await db.secret.findMany({
    where: { workspaceId: reader.workspaceId, name: { in: unique } },
    select: { id: true, name: true, value: true, allowDeploy: true },
  });
  const byName = new Map(rows.map((r) => [r.name, r]));
  const refusals = unique.flatMap((name) => {
    const row = byName.get(name);
    if (!row)
      return [
        `secret "${name}" does not exist; a workspace admin creates it with \`${allowDeployCommand(name, false)}\``,
      ];
    if (!row.allowDeploy)
      return [
        `secret "${name}" is not allowed at deploy; a workspace admin allows it with \`${allowDeployCommand(name, true)}\``,
      ];
    return [];
  });
  if (refusals.length > 0)
    throw new ApiError(
      byName.size === unique.length ? "FORBIDDEN" : "NOT_FOUND",
      `names: ${refusals.join("; ")} (build and push steps read only secrets a workspace admin allowed at deploy)`,
      { path: "names" },
    );
  const values: Record<string, string> = {};
  for (const row of rows)
    values[row.name] = masterKeys.openText(row.value, sealingContext(reader.workspaceId, row.name));
  const now = new Date();
  await db.$transaction([
    db.secretRead.createMany({
      data: request.steps.flatMap((step) =>
        [...new Set(step.names)].map((name) => ({
          workspaceId: reader.workspaceId,
          secretId: byName.get(name)!.id,
          apiKeyId: reader.apiKeyId,
          userId: null,
          serviceAccountId: reader.serviceAccountId,
          reader: "deploy",
          deployments: [...request.deployments],
          step: step.step,
          readAt: now,
        })),
      ),
    }),
    db.secret.updateMany({ where: { id: { in: rows.map((r) => r.id) } }, data: { lastReadAt: now } }),
  ]);
  return { values };
}

/** Reads of one secret, newest first: which run, worker or deployer, with which key, when. */
export async function listSecretReads(
  { prisma: db }: Pick<Resources, "prisma">,
  workspaceId: string,
  name: string,
  limit = 100,
) {
  const secret = await db.secret.findUnique({
    where: { workspaceId_name: { workspaceId, name } },
    select: { id: true },
  });
  if (!secret) throw new ApiError("NOT_FOUND", `name: secret "${name}" not found`, { path: "name" });
  const reads = await db.secretRead.findMany({
    where: { workspaceId, secretId: secret.id },
    orderBy: { readAt: "desc" },
    take: limit,
    select: {
      flowRunId: true,
      workerId: true,
      apiKeyId: true,
      reader: true,
      userId: true,
      serviceAccountId: true,
      deployments: true,
      step: true,
      readAt: true,
    },
  });
  return reads.map((r) => ({ ...r, readAt: r.readAt.toISOString() }));
}

/**
 * Re-wraps the data key of every sealed value in the database (all workspaces' secrets and the
 * signing keys) with the current master key, so earlier master keys can be dropped from
 * FLOWPLANE_MASTER_KEY_PREVIOUS. Values themselves are not re-encrypted. One transaction: a failure
 * leaves every value as it was.
 */
export async function rotateMasterKey(
  { prisma: db }: Pick<Resources, "prisma">,
  masterKeys: MasterKeyring,
): Promise<{ secrets: number; signingKeys: number; masterKeyId: string }> {
  return db.$transaction(
    async (tx) => {
      let secrets = 0;
      let signingKeys = 0;
      const secretRows = await tx.secret.findMany({ select: { id: true, value: true } });
      for (const row of secretRows) {
        const rewrapped = masterKeys.rewrap(row.value);
        if (rewrapped === row.value) continue;
        await tx.secret.update({ where: { id: row.id }, data: { value: rewrapped }, select: { id: true } });
        secrets++;
      }
      const keyRows = await tx.signingKey.findMany({ select: { id: true, secret: true } });
      for (const row of keyRows) {
        if (!isSealed(row.secret)) continue;
        const rewrapped = masterKeys.rewrap(row.secret);
        if (rewrapped === row.secret) continue;
        await tx.signingKey.update({ where: { id: row.id }, data: { secret: rewrapped }, select: { id: true } });
        signingKeys++;
      }
      return { secrets, signingKeys, masterKeyId: masterKeys.currentId };
    },
    { timeout: 120_000 },
  );
}

/**
 * At start: every master key the secrets were sealed with must be in the ring, or the server would
 * run and fail each read later. Raises MasterKeyMismatchError naming the missing key ids.
 */
export async function assertSecretsOpen(db: Db, masterKeys: MasterKeyring): Promise<void> {
  const rows = await db.$queryRaw<{ id: string }[]>`SELECT DISTINCT split_part(value, ':', 3) AS id FROM "Secret"`;
  const unknown = rows.map((r) => r.id).filter((id) => !masterKeys.ids.includes(id));
  if (unknown.length > 0)
    throw new MasterKeyMismatchError(
      `secrets in this database were sealed with master key ${unknown.join(", ")}, and this server has ` +
        `${masterKeys.ids.join(", ")}. Start with the FLOWPLANE_MASTER_KEY (or $FLOWPLANE_HOME/master.key) ` +
        `they were sealed with, or list it in FLOWPLANE_MASTER_KEY_PREVIOUS; nothing was changed`,
    );
}

/**
 * The run a secret read is for, checked: it must be in this workspace and being started or
 * running; a worker key must hold its current claim and a run token must be its own (the same
 * fence as state changes), so one worker or run cannot read the secrets of another's run; and
 * every name must be one this reader may read for this run (secretsReadableBy).
 */
export async function runForSecretRead(
  { prisma: db }: Pick<Resources, "prisma">,
  workspaceId: string,
  flowRunId: string,
  reader: Proposer,
  names: readonly string[],
): Promise<{ id: string; workerId: string | null; reader: SecretReaderKind }> {
  const run = await db.flowRun.findFirst({
    where: { id: flowRunId, workspaceId },
    select: {
      id: true,
      stateType: true,
      workerId: true,
      claimToken: true,
      workPoolId: true,
      parameters: true,
      jobVariables: true,
      workPool: { select: { baseJobTemplate: true } },
      deployment: {
        select: {
          name: true,
          flow: { select: { name: true } },
          parameters: true,
          jobVariables: true,
          pullSteps: true,
          secrets: true,
        },
      },
    },
  });
  if (!run) throw new ApiError("NOT_FOUND", `flowRunId: flow run ${flowRunId} not found`, { path: "flowRunId" });
  const refusal = fenceRefusal(run, reader);
  if (refusal) throw refusal;
  if (!ACTIVE_STATE_TYPES.includes(run.stateType))
    throw new ApiError(
      "PRECONDITION_FAILED",
      `flowRunId: secrets are read only while a run is being started or running; this one is ${run.stateType}`,
      { path: "flowRunId" },
    );
  const kind: SecretReaderKind = reader.runTokenFor !== undefined ? "run" : "worker";
  const readable = secretsReadableBy(kind, run);
  const refused = names.filter((name) => !readable.has(name));
  if (refused.length > 0) {
    const list = `${refused.length === 1 ? "secret" : "secrets"} ${refused.map((n) => `"${n}"`).join(", ")} ${refused.length === 1 ? "is" : "are"}`;
    const deployment = run.deployment ? `deployment "${run.deployment.flow.name}/${run.deployment.name}"` : null;
    throw new ApiError(
      "FORBIDDEN",
      kind === "run"
        ? `names: ${list} not declared by ${deployment ?? `flow run ${run.id}`}; a run reads only the ` +
            "secrets its deployment references or declares. To read it from code, declare it on the deployment — in " +
            `flowplane.yaml: \`secrets: [${refused.join(", ")}]\`, or \`flowplane deploy ${refused.map((n) => `--secret ${n}`).join(" ")}\` — and deploy again`
        : `names: ${list} not referenced by the job variables of flow run ${run.id}; a worker key reads ` +
            "only those (the run reads the others itself, with its own token)",
      { path: "names" },
    );
  }
  return { id: run.id, workerId: run.workerId, reader: kind };
}

export type SecretReaderKind = "run" | "worker";

/** What secretsReadableBy reads of a run. */
interface RunConfiguration {
  parameters: unknown;
  jobVariables: unknown;
  workPool: { baseJobTemplate: unknown } | null;
  deployment: { parameters: unknown; jobVariables: unknown; pullSteps: unknown; secrets: string[] } | null;
}

/**
 * The secrets a reader may read for a run: the one place that says so. A worker key resolves the
 * run's job configuration (the pool's template, the deployment's and the run's job variables);
 * the run's own token also its parameters, its deployment's pull steps (run where the run starts)
 * and the secrets the deployment declares its code asks for (`secrets:`).
 */
export function secretsReadableBy(reader: SecretReaderKind, run: RunConfiguration): Set<string> {
  const sources: unknown[] = [run.workPool?.baseJobTemplate, run.deployment?.jobVariables, run.jobVariables];
  if (reader === "run") sources.push(run.parameters, run.deployment?.parameters, run.deployment?.pullSteps);
  const names = new Set(findReferences(sources).secrets);
  if (reader === "run") for (const name of run.deployment?.secrets ?? []) names.add(name);
  return names;
}
