// Cookies for the dashboard's sign-in: the session cookie is httpOnly (no script reads it),
// SameSite=Strict (no other site's page sends it), Secure when served over TLS, and scoped to /trpc
// (the only place that reads it). The CSRF token is the one value the dashboard sends back in a
// header; it is returned in the sign-in answer and kept in a readable cookie so a reload finds it.
export const SESSION_COOKIE = "fp_session";
export const CSRF_COOKIE = "fp_csrf";
export const CSRF_HEADER = "x-flowplane-csrf";

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    // The first occurrence wins, as browsers send the most specific cookie first.
    if (!(name in out)) {
      try {
        out[name] = decodeURIComponent(value);
      } catch {
        out[name] = value;
      }
    }
  }
  return out;
}

export function serializeCookie(
  name: string,
  value: string,
  options: {
    maxAgeSeconds: number;
    httpOnly: boolean;
    secure: boolean;
    path: string;
    /** Lax only for a cookie that must come back on a top-level navigation from another site (SSO's pending sign-in). */
    sameSite?: "Strict" | "Lax";
  },
): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${options.path}`,
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`,
    `SameSite=${options.sameSite ?? "Strict"}`,
    ...(options.httpOnly ? ["HttpOnly"] : []),
    ...(options.secure ? ["Secure"] : []),
  ].join("; ");
}

interface CookieJar {
  cookies: Readonly<Record<string, string>>;
  secure: boolean;
  setCookie(header: string): void;
}

/** Sets the sign-in cookie (httpOnly, /trpc only) and the CSRF cookie the dashboard's script reads. */
export function setSessionCookies(
  jar: CookieJar,
  session: { sessionToken: string; csrfToken: string; expiresAt: Date },
): void {
  const maxAgeSeconds = (session.expiresAt.getTime() - Date.now()) / 1000;
  jar.setCookie(
    serializeCookie(SESSION_COOKIE, session.sessionToken, {
      maxAgeSeconds,
      httpOnly: true,
      secure: jar.secure,
      path: "/trpc",
    }),
  );
  jar.setCookie(
    serializeCookie(CSRF_COOKIE, session.csrfToken, { maxAgeSeconds, httpOnly: false, secure: jar.secure, path: "/" }),
  );
}

export function clearSessionCookies(jar: CookieJar): void {
  jar.setCookie(
    serializeCookie(SESSION_COOKIE, "", { maxAgeSeconds: 0, httpOnly: true, secure: jar.secure, path: "/trpc" }),
  );
  jar.setCookie(serializeCookie(CSRF_COOKIE, "", { maxAgeSeconds: 0, httpOnly: false, secure: jar.secure, path: "/" }));
}
