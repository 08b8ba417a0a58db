// The browser side of single sign-on: two plain HTTP GETs the server mounts next to tRPC, because
// both are top-level navigations (the sign-in page sends the browser away; the provider sends it
// back), not API calls.
//
//   GET /auth/sso/start?email=ada@acme.com   -> 303 to the organisation's provider; sets the sealed
//                                               pending sign-in cookie (SameSite=Lax: it must come
//                                               back on the provider's redirect, a cross-site GET)
//   GET /auth/sso/callback?code=…&state=…    -> 303 to the dashboard, signed in (the accounts' session
//                                               cookies), or to /sign-in?sso_error=… when refused
import { ApiError } from "../errors.ts";
import { createUserSession } from "../services/accounts/sessions.ts";
import type { RequestClient } from "../services/audit/procedure-calls.ts";
import { finishSsoSignIn, ssoRedirectUri, startSsoSignIn } from "../services/sso.ts";
import type { ApiServices, HttpExchange } from "../trpc.ts";
import { serializeCookie, setSessionCookies } from "./cookies.ts";
import { OidcError } from "./oidc/client.ts";
import { PENDING_COOKIE, PENDING_TTL_MS } from "./oidc/pending.ts";

export const SSO_START_PATH = "/auth/sso/start";
export const SSO_CALLBACK_PATH = "/auth/sso/callback";

function pendingCookie(exchange: HttpExchange, value: string, maxAgeSeconds: number): string {
  return serializeCookie(PENDING_COOKIE, value, {
    maxAgeSeconds,
    httpOnly: true,
    secure: exchange.secure,
    path: "/auth/sso",
    sameSite: "Lax",
  });
}

/** Where a refused sign-in lands: the sign-in page, which shows the reason. */
function refusedAt(err: unknown): string {
  const reason = err instanceof OidcError || err instanceof ApiError ? err.message : "single sign-on failed; try again";
  return `/sign-in?${new URLSearchParams({ sso_error: reason })}`;
}

/**
 * Answers an SSO request with the address to send the browser to (303), or null when `url` is not
 * an SSO path. Unexpected failures are thrown for the server to log; refusals become a redirect.
 */
export async function handleSsoRequest(
  services: ApiServices,
  url: URL,
  exchange: HttpExchange,
  client: RequestClient,
): Promise<string | null> {
  if (url.pathname !== SSO_START_PATH && url.pathname !== SSO_CALLBACK_PATH) return null;
  const redirectUri = ssoRedirectUri(services.config.publicUrl);
  if (!redirectUri) throw new Error("the server's public URL is not known (FLOWPLANE_PUBLIC_URL)");
  const { resources, masterKeys, oidc } = services;
  if (url.pathname === SSO_START_PATH) {
    try {
      const started = await startSsoSignIn(resources, masterKeys, oidc, {
        email: url.searchParams.get("email") ?? "",
        redirectUri,
      });
      exchange.setCookie(pendingCookie(exchange, started.pending, PENDING_TTL_MS / 1000));
      return started.url;
    } catch (err) {
      if (err instanceof OidcError || err instanceof ApiError) return refusedAt(err);
      throw err;
    }
  }
  // The pending sign-in is used once, whatever the outcome.
  exchange.setCookie(pendingCookie(exchange, "", 0));
  try {
    const signedIn = await finishSsoSignIn(resources, masterKeys, oidc, {
      pending: exchange.cookies[PENDING_COOKIE] ?? null,
      callback: url.searchParams,
      redirectUri,
      client,
    });
    // A new session id, like every sign-in: nothing planted in this browser before survives it.
    const session = await createUserSession(
      resources.prisma,
      signedIn.userId,
      services.config.userSessionTtlSeconds,
      client,
    );
    setSessionCookies(exchange, session);
    return "/";
  } catch (err) {
    if (err instanceof OidcError || err instanceof ApiError) return refusedAt(err);
    throw err;
  }
}
