// Workspaces, API keys and the server's first-start bootstrap. Every key has an owner (a user or a
// service account) whose role bounds it at every use (see auth/authenticator.ts).
import type { Db } from "@flowplane/db";
import { generateApiKey, type ApiKeyScope } from "../auth/api-keys.ts";
import { ApiError } from "../errors.ts";
import { newSecret, sha256 } from "./accounts/tokens.ts";
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

/** Who a key belongs to. */
export type KeyOwner = { userId: string } | { serviceAccountId: string };

export async function createApiKey(
  db: Db,
  workspaceId: string,
  owner: KeyOwner,
  name: string,
  scope: ApiKeyScope,
  expiresInDays?: number,
) {
  const generated = generateApiKey();
  const row = await db.apiKey.create({
    data: {
      workspaceId,
      ...owner,
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

/** The service account that owns a new workspace's first admin key (the one `workspace create` prints). */
export const WORKSPACE_ADMIN_ACCOUNT = "admin";

/**
 * A workspace of `organizationId` with its first admin key, created together or not at all. The key
 * belongs to the workspace's service account `admin` (role ADMIN): it keeps working whoever joins or
 * leaves, until someone revokes it.
 */
export async function createWorkspace(db: Db, name: string, organizationId: string) {
  const generated = generateApiKey();
  const workspace = await db.workspace.create({
    data: { name, organizationId },
    select: { id: true, name: true },
  });
  await db.serviceAccount.create({
    data: {
      organizationId,
      workspaceId: workspace.id,
      name: WORKSPACE_ADMIN_ACCOUNT,
      role: "ADMIN",
      apiKeys: {
        create: {
          workspaceId: workspace.id,
          name: "admin",
          scope: "ADMIN",
          prefix: generated.prefix,
          secretHash: generated.secretHash,
        },
      },
    },
    select: { id: true },
  });
  return { workspace, apiKey: generated.key };
}

/** An organisation with its first workspace (and that workspace's admin key), together or not at all. */
export async function createOrganization(db: Db, name: string, workspaceName: string) {
  const organization = await db.organization.create({ data: { name }, select: { id: true, name: true } });
  const created = await createWorkspace(db, workspaceName, organization.id);
  return { organization, ...created };
}

export const DEFAULT_WORKSPACE = "default";
export const DEFAULT_ORGANIZATION = "default";

/**
 * First start: creates organisation `default` and its workspace `default` with an admin key when the
 * database has no workspace.
 * Returns the key only when it was created now (it is never readable again); `handOver` stores it
 * before the transaction commits. An advisory lock
 * makes concurrent first starts of several replicas create one workspace.
 */
export async function bootstrapDefaultWorkspace(
  db: Db,
  /** Runs before the transaction commits: if it throws, nothing is created. */
  handOver: (apiKey: string, workspaceName: string) => Promise<void> = async () => {},
  /** How long the first-owner link stays valid. */
  ownerLinkTtlSeconds = 7 * 86_400,
): Promise<{ created: boolean; apiKey: string | null; workspaceName: string; ownerSetupToken: string | null }> {
  return db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(hashtextextended('flowplane:bootstrap', 0))`);
    const any = await tx.workspace.findFirst({ select: { id: true } });
    if (any) return { created: false, apiKey: null, workspaceName: DEFAULT_WORKSPACE, ownerSetupToken: null };
    const created = await createOrganization(tx as unknown as Db, DEFAULT_ORGANIZATION, DEFAULT_WORKSPACE);
    // The first owner: a one-time link, with no email, that lets whoever opens it choose the owner's
    // email and password in the dashboard (it is printed once, by whoever started the server).
    const ownerSetupToken = newSecret();
    await tx.invitation.create({
      data: {
        organizationId: created.organization.id,
        workspaceId: created.workspace.id,
        email: null,
        orgRole: "OWNER",
        tokenHash: sha256(ownerSetupToken),
        expiresAt: new Date(Date.now() + ownerLinkTtlSeconds * 1000),
      },
      select: { id: true },
    });
    await handOver(created.apiKey, created.workspace.name);
    return { created: true, apiKey: created.apiKey, workspaceName: created.workspace.name, ownerSetupToken };
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

/** Creates a workspace of the caller's organisation and its first admin key (shown once); the name must be new. */
export async function createNamedWorkspace(res: Resources, organizationId: string, name: string) {
  const existing = await res.prisma.workspace.findUnique({ where: { name }, select: { id: true } });
  if (existing) throw new ApiError("CONFLICT", `name: workspace "${name}" already exists`, { path: "name" });
  const created = await res.prisma.$transaction((tx) => createWorkspace(tx as unknown as Db, name, organizationId));
  return { workspace: { id: created.workspace.id, name: created.workspace.name }, apiKey: created.apiKey };
}
