// The CLI's device-authorisation sign-in (as in RFC 8628): the CLI starts it and polls with a secret
// device code; the person signs in to the dashboard and confirms the short user code shown in their
// terminal; the next poll hands the CLI a new API key owned by that person, scoped to their role.
import { randomInt } from "node:crypto";
import type { Db } from "@flowplane/db";
import { userScope } from "../../auth/roles.ts";
import { ApiError } from "../../errors.ts";
import type { ApiConfig } from "../../trpc.ts";
import type { Resources } from "../resources.ts";
import { createApiKey } from "../workspaces.ts";
import { newSecret, sha256 } from "./tokens.ts";

// No 0/O, 1/I/L, 5/S, 8/B: a code read aloud or copied by eye is typed right the first time.
const USER_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXYZ2345679";
export const DEVICE_POLL_INTERVAL_SECONDS = 1;

function userCode(): string {
  const chars = Array.from({ length: 8 }, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]);
  return `${chars.slice(0, 4).join("")}-${chars.slice(4).join("")}`;
}

export const normalizeUserCode = (code: string) => {
  const raw = code.toUpperCase().replace(/[^A-Z0-9]/g, "");
  return raw.length === 8 ? `${raw.slice(0, 4)}-${raw.slice(4)}` : raw;
};

export async function startDeviceAuthorization(
  { prisma: db }: Pick<Resources, "prisma">,
  config: Pick<ApiConfig, "deviceCodeTtlSeconds" | "publicUrl">,
  clientName: string,
) {
  const deviceCode = newSecret();
  const code = userCode();
  const expiresAt = new Date(Date.now() + config.deviceCodeTtlSeconds * 1000);
  await db.deviceAuthorization.create({
    data: { deviceCodeHash: sha256(deviceCode), userCode: code, clientName, expiresAt },
    select: { id: true },
  });
  const path = `/device?code=${code}`;
  return {
    deviceCode,
    userCode: code,
    verificationPath: path,
    verificationUrl: config.publicUrl ? `${config.publicUrl.replace(/\/+$/, "")}${path}` : null,
    expiresAt: expiresAt.toISOString(),
    intervalSeconds: DEVICE_POLL_INTERVAL_SECONDS,
  };
}

/** The signed-in person confirms (or refuses) a code for the workspace they are in. */
export async function decideDeviceAuthorization(
  { prisma: db }: Pick<Resources, "prisma">,
  who: { userId: string; workspaceId: string },
  input: { userCode: string; approve: boolean },
) {
  const code = normalizeUserCode(input.userCode);
  const row = await db.deviceAuthorization.findUnique({
    where: { userCode: code },
    select: { id: true, clientName: true, expiresAt: true, approvedAt: true, deniedAt: true },
  });
  if (!row || row.expiresAt.getTime() <= Date.now())
    throw new ApiError("NOT_FOUND", "userCode: no pending sign-in with this code (it may have expired)", {
      path: "userCode",
    });
  const { count } = await db.deviceAuthorization.updateMany({
    where: { id: row.id, approvedAt: null, deniedAt: null },
    data: input.approve
      ? { approvedAt: new Date(), userId: who.userId, workspaceId: who.workspaceId }
      : { deniedAt: new Date() },
  });
  if (count === 0)
    throw new ApiError("PRECONDITION_FAILED", "userCode: this code was already used", { path: "userCode" });
  return { clientName: row.clientName, approved: input.approve };
}

export type DevicePoll =
  | { status: "pending"; intervalSeconds: number }
  | { status: "denied" | "expired" }
  | { status: "approved"; apiKey: string; workspace: string; email: string; scope: string };

/** The CLI's poll: pending until confirmed; then, once, the new key. */
export async function pollDeviceAuthorization(
  { prisma: db }: Pick<Resources, "prisma">,
  deviceCode: string,
  clientName?: string,
): Promise<DevicePoll> {
  const row = await db.deviceAuthorization.findUnique({
    where: { deviceCodeHash: sha256(deviceCode) },
    select: {
      id: true,
      clientName: true,
      expiresAt: true,
      approvedAt: true,
      deniedAt: true,
      consumedAt: true,
      userId: true,
      workspaceId: true,
    },
  });
  if (!row || row.consumedAt || row.expiresAt.getTime() <= Date.now()) return { status: "expired" };
  if (row.deniedAt) return { status: "denied" };
  if (!row.approvedAt || !row.userId || !row.workspaceId)
    return { status: "pending", intervalSeconds: DEVICE_POLL_INTERVAL_SECONDS };
  return db.$transaction(async (tx) => {
    const spent = await tx.deviceAuthorization.updateMany({
      where: { id: row.id, consumedAt: null },
      data: { consumedAt: new Date() },
    });
    if (spent.count === 0) return { status: "expired" as const };
    const user = await tx.user.findUniqueOrThrow({
      where: { id: row.userId! },
      select: {
        email: true,
        orgMemberships: { select: { organizationId: true, role: true } },
        workspaceMemberships: { where: { workspaceId: row.workspaceId! }, select: { role: true } },
      },
    });
    const ws = await tx.workspace.findUniqueOrThrow({
      where: { id: row.workspaceId! },
      select: { name: true, organizationId: true },
    });
    const orgRole = user.orgMemberships.find((m) => m.organizationId === ws.organizationId)?.role ?? null;
    const scope = userScope(orgRole, user.workspaceMemberships[0]?.role ?? null);
    if (!scope) return { status: "denied" as const };
    const { key } = await createApiKey(
      tx as unknown as Db,
      row.workspaceId!,
      { userId: row.userId! },
      `cli: ${clientName ?? row.clientName}`.slice(0, 100),
      scope,
    );
    return { status: "approved" as const, apiKey: key, workspace: ws.name, email: user.email, scope };
  });
}
