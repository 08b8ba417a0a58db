// Sign-in leftovers that nothing reads once they are spent or expired: sessions, device codes,
// reset links and per-address throttles. Anyone can create the last three without credentials, so
// they are deleted a day after they stop mattering (kept that long for whoever looks into an incident).
import type { Resources } from "../resources.ts";

const DAY_MS = 86_400_000;

export async function pruneSignInRecords({ prisma: db }: Pick<Resources, "prisma">, now = new Date()) {
  const before = new Date(now.getTime() - DAY_MS);
  const [sessions, devices, resets, throttles] = await Promise.all([
    db.userSession.deleteMany({ where: { OR: [{ expiresAt: { lt: before } }, { revokedAt: { lt: before } }] } }),
    db.deviceAuthorization.deleteMany({ where: { expiresAt: { lt: before } } }),
    db.passwordReset.deleteMany({ where: { expiresAt: { lt: before } } }),
    db.loginThrottle.deleteMany({
      where: { windowStartedAt: { lt: before }, OR: [{ lockedUntil: null }, { lockedUntil: { lt: now } }] },
    }),
  ]);
  return { sessions: sessions.count, deviceCodes: devices.count, resetLinks: resets.count, throttles: throttles.count };
}
