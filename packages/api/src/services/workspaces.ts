// Workspaces, API keys and the server's first-start bootstrap.
import type { Db } from "@flowplane/db";
import { generateApiKey, type ApiKeyScope } from "../auth/api-keys.ts";
import { ApiError } from "../errors.ts";
import type { Resources } from "./resources.ts";

/** What an API key's row shows (never its hash). */
export const keySelect = {
  id: true,
  name: true,
  prefix: true,
  scope: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  createdAt: true,
} as const;

export async function createApiKey(
  db: Db,
  workspaceId: string,
  name: string,
  scope: ApiKeyScope,
  expiresInDays?: number,
) {
  const generated = generateApiKey();
  const row = await db.apiKey.create({
    data: {
      workspaceId,
      name,
      scope,
      prefix: generated.prefix,
      secretHash: generated.secretHash,
      expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null,
    },
    select: keySelect,
  });
  return { key: generated.key, row };
}

/** A workspace with its first admin key, created together or not at all. */
export async function createWorkspace(db: Db, name: string) {
  const generated = generateApiKey();
  const workspace = await db.workspace.create({
    data: {
      name,
      apiKeys: {
        create: { name: "admin", scope: "ADMIN", prefix: generated.prefix, secretHash: generated.secretHash },
      },
    },
    select: { id: true, name: true },
  });
  return { workspace, apiKey: generated.key };
}

export const DEFAULT_WORKSPACE = "default";

/**
 * First start: creates workspace `default` with an admin key when the database has no workspace.
 * Returns the key only when it was created now (it is never readable again); `handOver` stores it
 * before the transaction commits. An advisory lock
 * makes concurrent first starts of several replicas create one workspace.
 */
export async function bootstrapDefaultWorkspace(
  db: Db,
  /** Runs before the transaction commits: if it throws, nothing is created. */
  handOver: (apiKey: string, workspaceName: string) => Promise<void> = async () => {},
): Promise<{ created: boolean; apiKey: string | null; workspaceName: string }> {
  return db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(hashtextextended('flowplane:bootstrap', 0))`);
    const any = await tx.workspace.findFirst({ select: { id: true } });
    if (any) return { created: false, apiKey: null, workspaceName: DEFAULT_WORKSPACE };
    const created = await createWorkspace(tx as unknown as Db, DEFAULT_WORKSPACE);
    await handOver(created.apiKey, created.workspace.name);
    return { created: true, apiKey: created.apiKey, workspaceName: created.workspace.name };
  });
}

/** The caller's workspace. */
export async function currentWorkspace(res: Resources, workspaceId: string) {
  const ws = await res.prisma.workspace.findUniqueOrThrow({
    where: { id: workspaceId },
    select: { id: true, name: true, createdAt: true },
  });
  return { ...ws, createdAt: ws.createdAt.toISOString() };
}

/** Creates a workspace and its first admin key (shown once); the name must be new. */
export async function createNamedWorkspace(res: Resources, name: string) {
  const existing = await res.prisma.workspace.findUnique({ where: { name }, select: { id: true } });
  if (existing) throw new ApiError("CONFLICT", `name: workspace "${name}" already exists`, { path: "name" });
  const created = await createWorkspace(res.prisma, name);
  return { workspace: { id: created.workspace.id, name: created.workspace.name }, apiKey: created.apiKey };
}
