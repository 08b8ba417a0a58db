// Token signing keys at rest: what the database holds cannot sign a session, keys written in plain
// text by earlier versions are sealed (and disowned) at start, rotation keeps old tokens valid until
// they expire, and a wrong master key stops the start with nothing written.
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { MasterKeyring } from "../crypto/envelope.ts";
import { createApiServices } from "../services.ts";
import { callError, useTestApi } from "../testing.ts";
import { createOrganization } from "./workspaces.ts";
import {
  loadSigningKeys,
  MasterKeyMismatchError,
  retiredKeyWindowSeconds,
  rotateSigningKey,
  rotateSigningKeyIfDue,
} from "./signing-keys.ts";

const api = useTestApi();

/** An ADMIN session for `keyId` signed with `secret`, as someone holding the secret would make it. */
function forgeAdminSession(secret: Uint8Array, keyId: string, workspaceId: string, kid?: string): Promise<string> {
  return new SignJWT({ ws: workspaceId, scope: "ADMIN" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT", ...(kid ? { kid } : {}) })
    .setSubject(keyId)
    .setIssuer("flowplane")
    .setAudience("flowplane-dashboard")
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(secret);
}

/** Every text column of every signing key row, as `SELECT *` shows it to a database reader. */
async function readSigningKeyTable(db: TestDatabase): Promise<Record<string, unknown>[]> {
  return (await db.pool.query<Record<string, unknown>>(`SELECT * FROM "SigningKey"`)).rows;
}

async function expectWhoami(token: string, services = api.services) {
  return api.caller(token, { services }).auth.whoami();
}

describe("signing keys at rest", () => {
  it("a plaintext signing secret readable in the database forged ADMIN sessions (regression)", async () => {
    const rows = await readSigningKeyTable(api.db);
    expect(rows.length).toBeGreaterThan(0);
    const admin = { keyId: api.a.keyIds.ADMIN, workspaceId: api.a.id };
    // The attack that used to work: take any stored string as the HMAC secret, raw or base64url-decoded.
    for (const row of rows)
      for (const value of Object.values(row).filter((v): v is string => typeof v === "string"))
        for (const secret of [Buffer.from(value), Buffer.from(value, "base64url")])
          for (const kid of [String(row.id), undefined]) {
            const forged = await forgeAdminSession(secret, admin.keyId, admin.workspaceId, kid);
            expect((await callError(api.caller(forged).auth.whoami())).code).toBe("UNAUTHORIZED");
          }
    // The same forgery with the real secret (which only the master key reveals) is accepted, so the
    // refusals above are down to the secret being sealed, not to the forged token's shape.
    const { current } = await loadSigningKeys(api.db.prisma, api.services.masterKeys, { keepRetiredSeconds: 0 });
    const genuine = await forgeAdminSession(current.secret, admin.keyId, admin.workspaceId, current.kid);
    expect((await expectWhoami(genuine)).scope).toBe("ADMIN");
    for (const row of rows) expect(String(row.secret)).toMatch(/^fpenc:v1:/);
  });

  it("a secret stored in plain text by an earlier version is sealed at start and no longer verifies anything", async () => {
    const db = await createTestDatabase({ poolSize: 4 });
    try {
      const ws = (await createOrganization(db.prisma, "legacy", "legacy")).workspace;
      const { id: keyId } = await db.prisma.apiKey.findFirstOrThrow({
        where: { workspaceId: ws.id },
        select: { id: true },
      });
      const plain = randomBytes(32).toString("base64url");
      const legacy = await db.prisma.signingKey.create({ data: { secret: plain }, select: { id: true } });
      const stolen = Buffer.from(plain, "base64url");

      const services = await createApiServices({ db, masterKeys: new MasterKeyring(randomBytes(32)) });
      try {
        const after = await readSigningKeyTable(db);
        const sealedLegacy = after.find((r) => r.id === legacy.id)!;
        expect(String(sealedLegacy.secret)).toMatch(/^fpenc:v1:/);
        expect(JSON.stringify(after)).not.toContain(plain);
        // Sealed, and disowned: whoever read the plain value cannot sign with it, with or without its kid.
        expect(services.masterKeys.open(String(sealedLegacy.secret), `signing-key:${legacy.id}`)).toEqual(stolen);
        for (const kid of [legacy.id, undefined]) {
          const forged = await forgeAdminSession(stolen, keyId, ws.id, kid);
          expect((await callError(api.caller(forged, { services }).auth.whoami())).code).toBe("UNAUTHORIZED");
        }
        const keys = await loadSigningKeys(db.prisma, services.masterKeys, { keepRetiredSeconds: 3600 });
        expect(keys.current.kid).not.toBe(legacy.id);
        expect([...keys.verifying.keys()]).toEqual([keys.current.kid]);
      } finally {
        await services.events.stop();
      }
    } finally {
      await db.drop();
    }
  });

  it("a wrong master key fails with a clear error and changes nothing", async () => {
    const before = await readSigningKeyTable(api.db);
    const err = await createApiServices({ db: api.db, masterKeys: new MasterKeyring(randomBytes(32)) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MasterKeyMismatchError);
    expect((err as Error).message).toMatch(
      /master key cannot open signing key .* sealed with master key [0-9a-f]{16}, and this server has [0-9a-f]{16}.*FLOWPLANE_MASTER_KEY.*nothing was changed/,
    );
    expect(await readSigningKeyTable(api.db)).toEqual(before);
  });
});

describe("signing key rotation", () => {
  it("tokens carry the key id; after a rotation old sessions verify until they expire and new ones use the new key", async () => {
    const before = await api.caller(null).auth.createSession({ apiKey: api.a.keys.READ });
    const kidOf = (token: string) =>
      (JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { kid?: string }).kid;
    const oldKid = kidOf(before.token);
    expect(oldKid).toMatch(/^[0-9a-f-]{36}$/);
    const replica = await api.replica(); // reads the key set now, before the rotation

    const window = retiredKeyWindowSeconds(api.services.config.maxTokenTtlSeconds);
    const newKid = await rotateSigningKey(api.db.prisma, api.services.masterKeys, { keepRetiredSeconds: window });
    api.services.tokens.invalidate();
    const after = await api.caller(null).auth.createSession({ apiKey: api.a.keys.READ });
    expect(kidOf(after.token)).toBe(newKid);
    expect((await expectWhoami(before.token)).via).toBe("session");
    expect((await expectWhoami(after.token)).via).toBe("session");

    // A replica still holding the old key set learns the new kid when it first sees it (and signs with it).
    expect((await expectWhoami(after.token, replica)).via).toBe("session");
    const fromReplica = await api.caller(null, { services: replica }).auth.createSession({ apiKey: api.a.keys.READ });
    expect(kidOf(fromReplica.token)).toBe(newKid);

    // Once the retired key's window has passed it is pruned, and what it signed is refused.
    await api.db.prisma.signingKey.update({
      where: { id: oldKid! },
      data: { retiredAt: new Date(Date.now() - (window + 1) * 1000) },
    });
    const pass = await rotateSigningKeyIfDue(api.db.prisma, api.services.masterKeys, {
      maxAgeSeconds: 86_400,
      keepRetiredSeconds: window,
    });
    expect(pass).toEqual({ rotated: null, pruned: 1 });
    api.services.tokens.invalidate();
    expect((await callError(api.caller(before.token).auth.whoami())).code).toBe("UNAUTHORIZED");
    expect((await expectWhoami(after.token)).via).toBe("session");
  });

  it("the background pass rotates only a key older than the policy allows", async () => {
    const policy = { maxAgeSeconds: 3600, keepRetiredSeconds: 7200 };
    expect((await rotateSigningKeyIfDue(api.db.prisma, api.services.masterKeys, policy)).rotated).toBeNull();
    const current = await api.db.prisma.signingKey.findFirstOrThrow({
      where: { retiredAt: null },
      select: { id: true },
    });
    await api.db.prisma.signingKey.update({
      where: { id: current.id },
      data: { createdAt: new Date(Date.now() - 3601 * 1000) },
    });
    const { rotated } = await rotateSigningKeyIfDue(api.db.prisma, api.services.masterKeys, policy);
    expect(rotated).not.toBeNull();
    expect(rotated).not.toBe(current.id);
  });

  it("the signer refuses lifetimes beyond the longest one retired keys are kept for", async () => {
    await expect(
      api.services.tokens.sign("flowplane-run", "x", {}, api.services.config.maxTokenTtlSeconds + 1),
    ).rejects.toThrow(/token lifetime must be between 1 and/);
  });
});
