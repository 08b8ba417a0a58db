// Credentials against the real API and database: every bad API key or session token is answered
// UNAUTHORIZED, and revocation reaches this replica at once and other replicas within their cache TTL.
import { randomBytes } from "node:crypto";
import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { loadSigningKeys } from "../services/signing-keys.ts";
import { callError, useTestApi } from "../testing.ts";

const api = useTestApi();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function expectUnauthorized(credential: string | null, label = credential ?? "null"): Promise<void> {
  const err = await callError(api.caller(credential).auth.whoami());
  expect(err.code, label).toBe("UNAUTHORIZED");
}

async function newKey(scope: "ADMIN" | "DEVELOPER" | "WORKER" | "READ" = "READ") {
  const created = await api.a.as.ADMIN.apiKeys.create({ name: `k-${randomBytes(3).toString("hex")}`, scope });
  return { key: created.key, id: created.apiKey.id };
}

async function expireAt(keyId: string, at: Date): Promise<void> {
  await api.db.prisma.apiKey.update({ where: { id: keyId }, data: { expiresAt: at } });
}

/** A token shaped like the server's sessions, with parts overridable to forge bad ones. */
async function craftSession(opts: {
  keyId: string;
  workspaceId: string;
  secret?: Uint8Array;
  alg?: string;
  issuer?: string | null;
  audience?: string | null;
  exp?: number | null;
  kid?: string | null;
}) {
  const current = (await loadSigningKeys(api.db.prisma, api.services.masterKeys, { keepRetiredSeconds: 0 })).current;
  let jwt = new SignJWT({ ws: opts.workspaceId, scope: "READ" })
    .setProtectedHeader({
      alg: opts.alg ?? "HS256",
      typ: "JWT",
      ...(opts.kid === null ? {} : { kid: opts.kid ?? current.kid }),
    })
    .setSubject(opts.keyId)
    .setIssuedAt();
  if (opts.issuer !== null) jwt = jwt.setIssuer(opts.issuer ?? "flowplane");
  if (opts.audience !== null) jwt = jwt.setAudience(opts.audience ?? "flowplane-dashboard");
  if (opts.exp !== null) jwt = jwt.setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 600);
  return jwt.sign(opts.secret ?? current.secret);
}

describe("API keys", () => {
  it("a valid key authenticates to its own workspace", async () => {
    const { key } = await newKey();
    expect(await api.caller(key).auth.whoami()).toMatchObject({
      workspace: { id: api.a.id, name: "ws-a" },
      scope: "READ",
      via: "api-key",
    });
  });

  it("missing and malformed keys are refused", async () => {
    for (const bad of [
      null,
      "",
      "nonsense",
      "fp_",
      "fp_zzzzzzzzzzzz_" + "a".repeat(32),
      `${api.a.keys.READ}x`,
      api.a.keys.READ.toUpperCase(),
      `Bearer ${api.a.keys.READ}`,
    ]) {
      await expectUnauthorized(bad, JSON.stringify(bad));
    }
  });

  it("a key with a valid prefix and the wrong secret is refused, and the real key still works", async () => {
    const { key } = await newKey();
    const prefix = key.split("_")[1]!;
    const forged = `fp_${prefix}_${randomBytes(24).toString("base64url")}`;
    await expectUnauthorized(forged);
    await expectUnauthorized(forged);
    expect((await api.caller(key).auth.whoami()).via).toBe("api-key");
  });

  it("forged keys are not remembered, so unauthenticated callers cannot grow the key cache (regression)", async () => {
    const cache = (api.services.authenticator as unknown as { byKey: Map<string, unknown> }).byKey;
    const prefix = api.a.keys.READ.split("_")[1]!;
    const before = cache.size;
    for (let i = 0; i < 200; i++)
      await expectUnauthorized(
        `fp_${i % 2 ? prefix : randomBytes(6).toString("hex")}_${randomBytes(24).toString("base64url")}`,
      );
    expect(cache.size).toBe(before);
  });

  it("an expired key is refused", async () => {
    const { key, id } = await newKey();
    await expireAt(id, new Date(Date.now() - 1_000));
    await expectUnauthorized(key);
  });

  it("a key that expires while cached is refused from its expiry on", async () => {
    const { key, id } = await newKey();
    const expiry = new Date(Date.now() + 1_000);
    await expireAt(id, expiry);
    await api.caller(key).auth.whoami(); // now cached for the authenticator's TTL (5 s)
    await sleep(expiry.getTime() - Date.now() + 50);
    await expectUnauthorized(key);
  });

  it("a revoked key is refused at once on the replica that revoked it, even though it was cached", async () => {
    const { key, id } = await newKey();
    await api.caller(key).auth.whoami();
    const revoked = await api.a.as.ADMIN.apiKeys.revoke({ id });
    expect(revoked.status).toBe("revoked");
    await expectUnauthorized(key);
  });

  it("a revoked key is refused by another replica within that replica's cache TTL", async () => {
    const ttlMs = 300;
    const other = await api.replica({ authCacheTtlMs: ttlMs });
    const { key, id } = await newKey();
    const onOther = () => api.caller(key, { services: other }).auth.whoami();
    await onOther(); // cached on the other replica
    await api.a.as.ADMIN.apiKeys.revoke({ id });
    await sleep(ttlMs + 50);
    expect((await callError(onOther())).code).toBe("UNAUTHORIZED");
  });

  it("a key cannot revoke itself", async () => {
    const { key, id } = await newKey("ADMIN");
    const err = await callError(api.caller(key).apiKeys.revoke({ id }));
    expect(err.code).toBe("PRECONDITION_FAILED");
  });
});

describe("session tokens", () => {
  it("a session from a valid key authenticates as that key", async () => {
    const { key, id } = await newKey();
    const session = await api.caller(null).auth.createSession({ apiKey: key });
    expect(await api.caller(session.token).auth.whoami()).toMatchObject({
      apiKeyId: id,
      scope: "READ",
      via: "session",
      workspace: { id: api.a.id },
    });
  });

  it("expired, tampered, unsigned, foreign, mis-addressed and exp-less tokens are refused", async () => {
    const { key, id } = await newKey();
    const { token } = await api.caller(null).auth.createSession({ apiKey: key });
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const reencode = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const base = { keyId: id, workspaceId: api.a.id };

    const bad: Record<string, string> = {
      expired: await craftSession({ ...base, exp: Math.floor(Date.now() / 1000) - 60 }),
      "tampered payload (other workspace)": `${header}.${reencode({ ...claims, ws: api.b.id })}.${signature}`,
      "tampered payload (other key)": `${header}.${reencode({ ...claims, sub: api.a.keyIds.ADMIN })}.${signature}`,
      "tampered payload (later exp)": `${header}.${reencode({ ...claims, exp: Number(claims.exp) + 86_400 })}.${signature}`,
      "alg none": new UnsecuredJWT({ ws: api.a.id, scope: "ADMIN" })
        .setSubject(id)
        .setIssuer("flowplane")
        .setAudience("flowplane-dashboard")
        .setIssuedAt()
        .setExpirationTime("10m")
        .encode(),
      "alg none with the header swapped": `${reencode({ alg: "none", typ: "JWT" })}.${payload}.`,
      "signed with another secret": await craftSession({ ...base, secret: randomBytes(32) }),
      "HS512 with the right secret": await craftSession({ ...base, alg: "HS512" }),
      "wrong issuer": await craftSession({ ...base, issuer: "someone-else" }),
      "wrong audience": await craftSession({ ...base, audience: "flowplane-api" }),
      "no issuer": await craftSession({ ...base, issuer: null }),
      "no audience": await craftSession({ ...base, audience: null }),
      "missing exp": await craftSession({ ...base, exp: null }),
      "no key id": await craftSession({ ...base, kid: null }),
      "unknown key id": await craftSession({ ...base, kid: "01990000-0000-7000-8000-000000000000" }),
      "lifetime longer than any token is signed for": await craftSession({
        ...base,
        exp: Math.floor(Date.now() / 1000) + 400 * 86_400,
      }),
      "signed claims naming a key of another workspace": await craftSession({
        keyId: api.a.keyIds.READ,
        workspaceId: api.b.id,
      }),
      "signed claims naming an unknown key": await craftSession({
        keyId: "01990000-0000-7000-8000-000000000000",
        workspaceId: api.a.id,
      }),
      "truncated signature": `${header}.${payload}.${signature.slice(0, -4)}`,
    };
    // The real token works, so each refusal is down to what was changed.
    expect((await api.caller(token).auth.whoami()).via).toBe("session");
    for (const [label, forged] of Object.entries(bad)) await expectUnauthorized(forged, label);
  });

  it("a session of a revoked key is refused", async () => {
    const { key, id } = await newKey();
    const { token } = await api.caller(null).auth.createSession({ apiKey: key });
    await api.caller(token).auth.whoami();
    await api.a.as.ADMIN.apiKeys.revoke({ id });
    await expectUnauthorized(token);
  });

  it("a session of a key that expires while cached is refused from the key's expiry on", async () => {
    const { key, id } = await newKey();
    const expiry = new Date(Date.now() + 1_000);
    await expireAt(id, expiry);
    const { token } = await api.caller(null).auth.createSession({ apiKey: key });
    await api.caller(token).auth.whoami();
    await sleep(expiry.getTime() - Date.now() + 50);
    await expectUnauthorized(token);
  });

  it("a session cannot be exchanged for another session, and bad keys get none", async () => {
    const { key } = await newKey();
    const { token } = await api.caller(null).auth.createSession({ apiKey: key });
    for (const apiKey of [token, "nonsense", `${key.slice(0, -1)}A`]) {
      const err = await callError(api.caller(null).auth.createSession({ apiKey }));
      expect(err.code).toBe("UNAUTHORIZED");
    }
  });
});
