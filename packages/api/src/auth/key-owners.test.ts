// API keys act for their owner: a key never does more than its owner's current role allows, so a
// demotion narrows existing keys and a removal refuses them, at once on this replica.
import { describe, expect, it } from "vitest";
import { createApiKey } from "../services/workspaces.ts";
import { callError, useTestApi } from "../testing.ts";

const api = useTestApi();

async function orgOf(workspaceId: string): Promise<string> {
  const ws = await api.db.prisma.workspace.findUniqueOrThrow({
    where: { id: workspaceId },
    select: { organizationId: true },
  });
  return ws.organizationId;
}

describe("key owners", () => {
  it("a user's key acts with the lower of its scope and the user's role, re-read at every use", async () => {
    const organizationId = await orgOf(api.a.id);
    const user = await api.db.prisma.user.create({ data: { email: "dev@example.com" }, select: { id: true } });
    await api.db.prisma.organizationMembership.create({ data: { organizationId, userId: user.id, role: "MEMBER" } });
    const membership = await api.db.prisma.workspaceMembership.create({
      data: { workspaceId: api.a.id, userId: user.id, role: "DEVELOPER" },
      select: { id: true },
    });
    const { key } = await createApiKey(api.db.prisma, api.a.id, { userId: user.id }, "dev's admin key", "ADMIN");
    const caller = api.caller(key);
    expect(await caller.auth.whoami()).toMatchObject({
      scope: "DEVELOPER",
      actor: { type: "user", id: user.id, email: "dev@example.com" },
    });
    expect((await callError(caller.apiKeys.list())).code).toBe("FORBIDDEN");

    await api.db.prisma.workspaceMembership.update({ where: { id: membership.id }, data: { role: "VIEWER" } });
    api.services.authenticator.invalidate();
    expect((await caller.auth.whoami()).scope).toBe("READ");
    expect((await callError(caller.workPools.create({ name: "p-viewer", type: "process" }))).code).toBe("FORBIDDEN");

    // Promoted to organisation admin: administers every workspace, so the key's own scope is the limit.
    await api.db.prisma.organizationMembership.update({
      where: { organizationId_userId: { organizationId, userId: user.id } },
      data: { role: "ADMIN" },
    });
    api.services.authenticator.invalidate();
    expect((await caller.auth.whoami()).scope).toBe("ADMIN");

    await api.db.prisma.organizationMembership.delete({
      where: { organizationId_userId: { organizationId, userId: user.id } },
    });
    api.services.authenticator.invalidate();
    const removed = await callError(caller.auth.whoami());
    expect(removed.code).toBe("UNAUTHORIZED");
    expect(removed.message).toMatch(/no longer a member/);
  });

  it("a member of another organisation gets nothing from a key in this workspace", async () => {
    const user = await api.db.prisma.user.create({ data: { email: "other@example.com" }, select: { id: true } });
    await api.db.prisma.organizationMembership.create({
      data: { organizationId: await orgOf(api.b.id), userId: user.id, role: "OWNER" },
    });
    const { key } = await createApiKey(api.db.prisma, api.a.id, { userId: user.id }, "cross", "ADMIN");
    expect((await callError(api.caller(key).auth.whoami())).code).toBe("UNAUTHORIZED");
  });

  it("a service account's role bounds its keys; deleting the account refuses them", async () => {
    const sa = await api.db.prisma.serviceAccount.create({
      data: { organizationId: await orgOf(api.a.id), workspaceId: api.a.id, name: "ci", role: "VIEWER" },
      select: { id: true },
    });
    const { key } = await createApiKey(api.db.prisma, api.a.id, { serviceAccountId: sa.id }, "ci", "WORKER");
    expect(await api.caller(key).auth.whoami()).toMatchObject({
      scope: "READ",
      actor: { type: "service-account", id: sa.id, name: "ci" },
    });
    await api.db.prisma.serviceAccount.update({ where: { id: sa.id }, data: { role: "DEVELOPER" } });
    api.services.authenticator.invalidate();
    expect((await api.caller(key).auth.whoami()).scope).toBe("WORKER");
    await api.db.prisma.serviceAccount.delete({ where: { id: sa.id } });
    api.services.authenticator.invalidate();
    expect((await callError(api.caller(key).auth.whoami())).code).toBe("UNAUTHORIZED");
  });

  it("the database refuses a key with no owner or two", async () => {
    const sa = await api.db.prisma.serviceAccount.findFirstOrThrow({
      where: { workspaceId: api.a.id },
      select: { id: true },
    });
    const user = await api.db.prisma.user.create({ data: { email: "two@example.com" }, select: { id: true } });
    const base = { workspaceId: api.a.id, name: "bad", scope: "READ" as const, secretHash: "00" };
    await expect(api.db.prisma.apiKey.create({ data: { ...base, prefix: "000000000001" } })).rejects.toThrow(
      /exactly one user or service account/,
    );
    await expect(
      api.db.prisma.apiKey.create({
        data: { ...base, prefix: "000000000002", userId: user.id, serviceAccountId: sa.id },
      }),
    ).rejects.toThrow(/exactly one user or service account/);
  });
});
