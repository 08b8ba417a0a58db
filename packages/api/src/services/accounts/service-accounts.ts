// Service accounts: non-person members of one workspace (workers, CI) with a role, and their keys.
import type { ApiKeyScope } from "../../auth/api-keys.ts";
import { scopeAllows } from "../../auth/api-keys.ts";
import { ROLE_SCOPE, type WorkspaceRole } from "../../auth/roles.ts";
import { ApiError } from "../../errors.ts";
import type { Resources } from "../resources.ts";
import { createApiKey, keySelect } from "../workspaces.ts";

interface WorkspaceScope {
  organizationId: string;
  workspaceId: string;
}

async function findAccount(res: Pick<Resources, "prisma">, scope: WorkspaceScope, name: string) {
  const sa = await res.prisma.serviceAccount.findUnique({
    where: { workspaceId_name: { workspaceId: scope.workspaceId, name } },
    select: { id: true, name: true, role: true },
  });
  if (!sa) throw new ApiError("NOT_FOUND", `name: no service account "${name}" in this workspace`, { path: "name" });
  return sa;
}

export async function listServiceAccounts(res: Pick<Resources, "prisma">, scope: WorkspaceScope) {
  const rows = await res.prisma.serviceAccount.findMany({
    where: { workspaceId: scope.workspaceId },
    orderBy: { id: "desc" },
    select: {
      id: true,
      name: true,
      role: true,
      createdAt: true,
      apiKeys: { where: { revokedAt: null }, select: keySelect, orderBy: { id: "desc" } },
    },
  });
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: r.createdAt.toISOString(),
    keys: r.apiKeys.map((k) => ({
      id: k.id,
      name: k.name,
      prefix: k.prefix,
      scope: k.scope,
      expiresAt: k.expiresAt?.toISOString() ?? null,
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
      createdAt: k.createdAt.toISOString(),
    })),
  }));
}

export async function createServiceAccount(
  res: Pick<Resources, "prisma">,
  scope: WorkspaceScope,
  input: { name: string; role: WorkspaceRole },
) {
  const exists = await res.prisma.serviceAccount.findUnique({
    where: { workspaceId_name: { workspaceId: scope.workspaceId, name: input.name } },
    select: { id: true },
  });
  if (exists) throw new ApiError("CONFLICT", `name: service account "${input.name}" already exists`, { path: "name" });
  const sa = await res.prisma.serviceAccount.create({
    data: { ...scope, name: input.name, role: input.role },
    select: { id: true, name: true, role: true, createdAt: true },
  });
  return { ...sa, createdAt: sa.createdAt.toISOString() };
}

/** Changing the role narrows or widens every key of the account at its next use. */
export async function setServiceAccountRole(
  res: Pick<Resources, "prisma">,
  scope: WorkspaceScope,
  input: { name: string; role: WorkspaceRole },
) {
  const sa = await findAccount(res, scope, input.name);
  await res.prisma.serviceAccount.update({ where: { id: sa.id }, data: { role: input.role }, select: { id: true } });
  return { name: sa.name, role: input.role };
}

/** Deleting an account deletes its keys with it. */
export async function deleteServiceAccount(res: Pick<Resources, "prisma">, scope: WorkspaceScope, name: string) {
  const sa = await findAccount(res, scope, name);
  await res.prisma.serviceAccount.delete({ where: { id: sa.id }, select: { id: true } });
  return { name: sa.name, deleted: true };
}

export async function createServiceAccountKey(
  res: Pick<Resources, "prisma">,
  scope: WorkspaceScope,
  input: { serviceAccount: string; name: string; scope: ApiKeyScope; expiresInDays?: number | undefined },
) {
  const sa = await findAccount(res, scope, input.serviceAccount);
  if (!scopeAllows(ROLE_SCOPE[sa.role], input.scope))
    throw new ApiError(
      "INVALID_INPUT",
      `scope: a ${input.scope.toLowerCase()} key exceeds the service account's role (${sa.role.toLowerCase()})`,
      { path: "scope" },
    );
  const { key, row } = await createApiKey(
    res.prisma,
    scope.workspaceId,
    { serviceAccountId: sa.id },
    input.name,
    input.scope,
    input.expiresInDays,
  );
  return { key, apiKey: { id: row.id, name: row.name, prefix: row.prefix, scope: row.scope } };
}
