// Test scaffolding: a real, certified OpenID provider (the `oidc-provider` package) on loopback,
// with its development sign-in pages (any login and password signs in; the login becomes `sub`,
// and, when it has no `@`, `<login>@example.com` the email). Also a signer of forged ID tokens for
// the refusal tests, and `signInAtProvider`, which walks the provider's pages without a browser.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import Provider from "oidc-provider";

export interface TestClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface TestProvider {
  issuer: string;
  provider: Provider;
  /** Signs any claims with a key that is not the provider's, under the provider's key id. */
  forge(claims: Record<string, unknown>, options?: { alg?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startTestProvider(options: {
  clients: TestClient[];
  /** The email claim for a login (default: the login if it has an `@`, else `<login>@example.com`). */
  emailOf?: (login: string) => string;
}): Promise<TestProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = "test-provider-key";
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
  const emailOf = options.emailOf ?? ((login: string) => (login.includes("@") ? login : `${login}@example.com`));

  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_basic",
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: ["flowplane-test-provider-cookie-key"] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    pkce: { required: () => true },
    // The email and name go into the ID token itself, as hosted providers (Google, Entra ID, Okta) put them.
    conformIdTokenClaims: false,
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, email: emailOf(id), email_verified: true, name: `Test ${id}` }),
    }),
  });
  // The development pages warn on every start; they are what this provider is for.
  provider.on("server_error", (_ctx, err) => console.error("test OIDC provider:", err));
  server.on("request", provider.callback());

  const { privateKey: forgerKey } = await generateKeyPair("RS256");
  return {
    issuer,
    provider,
    forge: (claims, o = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: o.alg ?? "RS256", kid })
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(forgerKey),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Walks the provider's development pages like a browser would (cookies, redirects, the login and
 * consent forms) from an authorisation URL, and returns the redirect back to the relying party
 * (not followed): `?code=…&state=…&iss=…`.
 */
export async function signInAtProvider(authorizationUrl: string, login: string, redirectPrefix: string): Promise<URL> {
  const jar = new Map<string, string>();
  let url = new URL(authorizationUrl);
  let init: { method: string; body?: URLSearchParams } = { method: "GET" };
  for (let step = 0; step < 12; step++) {
    const res = await fetch(url, {
      method: init.method,
      ...(init.body ? { body: init.body } : {}),
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") },
      redirect: "manual",
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const eq = pair!.indexOf("=");
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const next = new URL(res.headers.get("location")!, url);
      if (next.href.startsWith(redirectPrefix)) return next;
      url = next;
      init = { method: "GET" };
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`provider answered ${res.status}: ${html.slice(0, 300)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`unexpected provider page: ${html.slice(0, 300)}`);
    url = new URL(action.replace(/&amp;/g, "&"), url);
    init = {
      method: "POST",
      body: new URLSearchParams(prompt === "login" ? { prompt, login, password: "any" } : { prompt }),
    };
  }
  throw new Error("the provider did not redirect back within 12 steps");
}
