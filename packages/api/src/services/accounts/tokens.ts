// One-time secrets (sign-in cookies, CSRF tokens, invitation and reset links, device codes): random,
// shown once, stored only as their SHA-256, compared by hash lookup.
import { createHash, randomBytes } from "node:crypto";

export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

export function sha256(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** A link into the dashboard; the secret rides in the fragment, which browsers never send to a server. */
export function dashboardLink(
  publicUrl: string | null,
  page: string,
  secret: string,
): { url: string | null; path: string } {
  const path = `/${page}#${secret}`;
  return { path, url: publicUrl ? `${publicUrl.replace(/\/+$/, "")}${path}` : null };
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();
