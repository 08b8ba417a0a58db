// The OpenID Connect client against a real provider (oidc-provider, certified) on loopback: a
// sign-in completes, and every tampered part of it is refused - state, nonce, audience, signature,
// algorithm, a reused code, a wrong PKCE verifier, a discovery document for another issuer.
import { createRemoteJWKSet, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OidcClient, OidcError, verifyIdToken, type OidcErrorCode, type RelyingParty } from "./client.ts";
import { signInAtProvider, startTestProvider, type TestProvider } from "./test-provider.ts";

const REDIRECT = "http://127.0.0.1:9/sso/callback";
const A = { clientId: "flowplane-a", clientSecret: "secret-a-0123456789abcdef", redirectUris: [REDIRECT] };
const B = { clientId: "flowplane-b", clientSecret: "secret-b-0123456789abcdef", redirectUris: [REDIRECT] };

let idp: TestProvider;
let client: OidcClient;
let rpA: RelyingParty & { clientSecret: string };

beforeAll(async () => {
  idp = await startTestProvider({ clients: [A, B] });
  client = new OidcClient();
  rpA = { issuer: idp.issuer, clientId: A.clientId, clientSecret: A.clientSecret, redirectUri: REDIRECT };
});
afterAll(async () => {
  await idp?.close();
});

async function refusal(p: Promise<unknown>): Promise<{ code: OidcErrorCode; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OidcError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected the sign-in to be refused, but it succeeded");
}

/** A real ID token the provider issued to `c` for `nonce` (the code exchanged by hand). */
async function idTokenFor(c: typeof A, nonce: string): Promise<string> {
  const { url, pending } = await client.beginSignIn({
    issuer: idp.issuer,
    clientId: c.clientId,
    redirectUri: REDIRECT,
  });
  const authUrl = new URL(url);
  authUrl.searchParams.set("nonce", nonce);
  const back = await signInAtProvider(authUrl.href, "mallory", REDIRECT);
  const { metadata } = await client.discover(idp.issuer);
  const res = await fetch(metadata.token_endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString("base64")}`,
    },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: back.searchParams.get("code")!,
      redirect_uri: REDIRECT,
      code_verifier: pending.codeVerifier,
    }),
  });
  const body = (await res.json()) as { id_token: string };
  return body.id_token;
}

describe("OIDC client", () => {
  it("signs in with the authorisation code flow, PKCE S256, and returns the verified claims", async () => {
    const { url, pending } = await client.beginSignIn(rpA);
    const auth = new URL(url);
    expect(auth.searchParams.get("code_challenge_method")).toBe("S256");
    expect(auth.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get("state")).toBe(pending.state);
    expect(auth.searchParams.get("nonce")).toBe(pending.nonce);
    expect(url).not.toContain(pending.codeVerifier);

    const back = await signInAtProvider(url, "ada@acme.test", REDIRECT);
    const claims = await client.completeSignIn(rpA, pending, back.searchParams);
    expect(claims).toMatchObject({
      sub: "ada@acme.test",
      email: "ada@acme.test",
      email_verified: true,
      aud: A.clientId,
      iss: idp.issuer,
    });
  });

  it("refuses a callback whose state is not this browser's (and sends nothing to the provider)", async () => {
    const { url, pending } = await client.beginSignIn(rpA);
    const back = await signInAtProvider(url, "ada", REDIRECT);
    back.searchParams.set("state", "attacker-state");
    expect((await refusal(client.completeSignIn(rpA, pending, back.searchParams))).code).toBe("STATE_MISMATCH");
    // The code was not spent: the real browser's callback still completes.
    back.searchParams.set("state", pending.state);
    await expect(client.completeSignIn(rpA, pending, back.searchParams)).resolves.toMatchObject({ sub: "ada" });
  });

  it("refuses an ID token whose nonce is not the one this sign-in sent", async () => {
    const { url, pending } = await client.beginSignIn(rpA);
    const back = await signInAtProvider(url, "ada", REDIRECT);
    const r = await refusal(
      client.completeSignIn(rpA, { ...pending, nonce: "another-sign-ins-nonce" }, back.searchParams),
    );
    expect(r.code).toBe("NONCE_MISMATCH");
  });

  it("refuses an ID token the provider issued to another client (wrong audience)", async () => {
    const nonce = "n-audience";
    const tokenForB = await idTokenFor(B, nonce);
    const { metadata, jwks } = await client.discover(idp.issuer);
    expect(metadata.issuer).toBe(idp.issuer);
    // The same token verifies for B, its audience ...
    await expect(
      verifyIdToken(tokenForB, jwks, { issuer: idp.issuer, audience: B.clientId, nonce, algorithms: ["RS256"] }),
    ).resolves.toMatchObject({ aud: B.clientId });
    // ... and is refused for A.
    const r = await refusal(
      verifyIdToken(tokenForB, jwks, { issuer: idp.issuer, audience: A.clientId, nonce, algorithms: ["RS256"] }),
    );
    expect(r).toMatchObject({ code: "INVALID_ID_TOKEN" });
    expect(r.message).toContain("aud");
  });

  it("refuses a bad signature: an altered token, a token signed with another key under the provider's key id, and HS256 with the client secret", async () => {
    const nonce = "n-signature";
    const real = await idTokenFor(A, nonce);
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const expected = { issuer: idp.issuer, audience: A.clientId, nonce, algorithms: ["RS256"] };
    await expect(verifyIdToken(real, jwks, expected)).resolves.toMatchObject({ sub: "mallory" });

    const [header, payload, signature] = real.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const altered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url")}.${signature}`;
    expect(await refusal(verifyIdToken(altered, jwks, expected))).toMatchObject({
      code: "INVALID_ID_TOKEN",
      message: expect.stringContaining("signature"),
    });

    const forged = await idp.forge({ iss: idp.issuer, aud: A.clientId, sub: "admin", nonce });
    expect(await refusal(verifyIdToken(forged, jwks, expected))).toMatchObject({
      code: "INVALID_ID_TOKEN",
      message: expect.stringContaining("signature"),
    });

    const hs256 = await new SignJWT({ iss: idp.issuer, aud: A.clientId, sub: "admin", nonce })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(A.clientSecret));
    expect((await refusal(verifyIdToken(hs256, jwks, expected))).code).toBe("INVALID_ID_TOKEN");
  });

  it("refuses a reused code and a wrong PKCE verifier at the token endpoint", async () => {
    const first = await client.beginSignIn(rpA);
    const back = await signInAtProvider(first.url, "ada", REDIRECT);
    await client.completeSignIn(rpA, first.pending, back.searchParams);
    expect((await refusal(client.completeSignIn(rpA, first.pending, back.searchParams))).code).toBe(
      "TOKEN_EXCHANGE_FAILED",
    );

    const second = await client.beginSignIn(rpA);
    const back2 = await signInAtProvider(second.url, "ada", REDIRECT);
    const r = await refusal(
      client.completeSignIn(rpA, { ...second.pending, codeVerifier: "x".repeat(43) }, back2.searchParams),
    );
    expect(r.code).toBe("TOKEN_EXCHANGE_FAILED");
  });

  it("refuses an error from the provider, a redirect from another issuer, and a discovery document for another issuer", async () => {
    const { pending } = await client.beginSignIn(rpA);
    const denied = new URLSearchParams({ state: pending.state, error: "access_denied" });
    expect((await refusal(client.completeSignIn(rpA, pending, denied))).code).toBe("PROVIDER_ERROR");
    const mixUp = new URLSearchParams({ state: pending.state, code: "c", iss: "https://evil.example" });
    expect((await refusal(client.completeSignIn(rpA, pending, mixUp))).code).toBe("PROVIDER_ERROR");
    expect((await refusal(new OidcClient().discover(`${idp.issuer}/`))).code).toBe("DISCOVERY_FAILED");
    expect((await refusal(new OidcClient().discover("http://idp.example.com"))).message).toContain("https");
  });
});
