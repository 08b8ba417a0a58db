// Workspace variables: named JSON values for non-secret configuration, readable by any key of the
// workspace and referenced as `{{ variable.NAME }}`.
import type { Prisma } from "@flowplane/db";
import type { Resources } from "./resources.ts";
import { ApiError } from "../errors.ts";

const variableSelect = { name: true, value: true, createdAt: true, updatedAt: true } as const;

export interface VariableView {
  name: string;
  value: unknown;
  createdAt: string;
  updatedAt: string;
}

function present(row: { name: string; value: unknown; createdAt: Date; updatedAt: Date }): VariableView {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

export async function setVariable(
  { prisma: db }: Pick<Resources, "prisma">,
  input: { workspaceId: string; name: string; value: Prisma.InputJsonValue; apiKeyId: string | null },
): Promise<VariableView> {
  const row = await db.variable.upsert({
    where: { workspaceId_name: { workspaceId: input.workspaceId, name: input.name } },
    create: { workspaceId: input.workspaceId, name: input.name, value: input.value, updatedBy: input.apiKeyId },
    update: { value: input.value, updatedBy: input.apiKeyId },
    select: variableSelect,
  });
  return present(row);
}

export async function getVariable(
  { prisma: db }: Pick<Resources, "prisma">,
  workspaceId: string,
  name: string,
): Promise<VariableView> {
  const row = await db.variable.findUnique({
    where: { workspaceId_name: { workspaceId, name } },
    select: variableSelect,
  });
  if (!row) throw new ApiError("NOT_FOUND", `name: variable "${name}" not found`, { path: "name" });
  return present(row);
}

/** Values of `names`; names with no variable come back in `missing`. */
export async function getVariableValues(
  { prisma: db }: Pick<Resources, "prisma">,
  workspaceId: string,
  names: readonly string[],
): Promise<{ values: Record<string, unknown>; missing: string[] }> {
  const unique = [...new Set(names)];
  const rows = await db.variable.findMany({
    where: { workspaceId, name: { in: unique } },
    select: { name: true, value: true },
  });
  const values = Object.fromEntries(rows.map((r) => [r.name, r.value]));
  return { values, missing: unique.filter((n) => !(n in values)) };
}

/** Newest first. */
export async function listVariables(
  { prisma: db }: Pick<Resources, "prisma">,
  workspaceId: string,
): Promise<VariableView[]> {
  const rows = await db.variable.findMany({
    where: { workspaceId },
    orderBy: { createdAt: "desc" },
    select: variableSelect,
  });
  return rows.map(present);
}

export async function deleteVariable(
  { prisma: db }: Pick<Resources, "prisma">,
  workspaceId: string,
  name: string,
): Promise<void> {
  const { count } = await db.variable.deleteMany({ where: { workspaceId, name } });
  if (count === 0) throw new ApiError("NOT_FOUND", `name: variable "${name}" not found`, { path: "name" });
}
