// API keys as admins manage them: create (the key is shown once), list, revoke. Keys are stored
// hashed (workspaces.ts creates them); the authenticator checks them.
import type { ApiKeyScope } from "../auth/api-keys.ts";
import { ApiError, notFound } from "../errors.ts";
import type { Resources } from "./resources.ts";
import { createApiKey, keySelect, type KeyOwner } from "./workspaces.ts";

function present(k: {
  id: string;
  name: string;
  prefix: string;
  scope: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}) {
  const now = Date.now();
  return {
    ...k,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    createdAt: k.createdAt.toISOString(),
    status: k.revokedAt ? "revoked" : k.expiresAt && k.expiresAt.getTime() <= now ? "expired" : "active",
  };
}

/** A key owned by `owner` (the caller, or a service account); it never does more than its owner may. */
export async function issueApiKey(
  res: Resources,
  workspaceId: string,
  owner: KeyOwner,
  input: { name: string; scope: ApiKeyScope; expiresInDays?: number | undefined },
) {
  const { key, row } = await createApiKey(res.prisma, workspaceId, owner, input.name, input.scope, input.expiresInDays);
  return { key, apiKey: present(row) };
}

export async function listApiKeys(res: Resources, workspaceId: string) {
  const rows = await res.prisma.apiKey.findMany({
    where: { workspaceId },
    orderBy: { id: "desc" },
    select: keySelect,
  });
  return rows.map(present);
}

/** Revokes a key (idempotent); the caller's own key cannot revoke itself. */
export async function revokeApiKey(res: Resources, workspaceId: string, keyId: string, callerKeyId: string | null) {
  const key = await res.prisma.apiKey.findFirst({
    where: { id: keyId, workspaceId },
    select: { id: true, revokedAt: true },
  });
  if (!key) throw notFound("API key", keyId);
  if (keyId === callerKeyId)
    throw new ApiError("PRECONDITION_FAILED", "id: a key cannot revoke itself; use another admin key", {
      path: "id",
    });
  const row = await res.prisma.apiKey.update({
    where: { id: key.id },
    data: { revokedAt: key.revokedAt ?? new Date() },
    select: keySelect,
  });
  return present(row);
}
