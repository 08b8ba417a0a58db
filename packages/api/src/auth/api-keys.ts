// API keys look like `fp_<prefix>_<secret>`. The prefix is a public lookup handle; only the
// SHA-256 of the whole key is stored. A fast hash is right here: the secret has 192 bits of
// entropy, so there is nothing for a slow password hash to protect against.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const API_KEY_SCOPES = ["ADMIN", "DEVELOPER", "WORKER", "READ"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface GeneratedKey {
  key: string;
  prefix: string;
  secretHash: string;
}

export function generateApiKey(): GeneratedKey {
  const prefix = randomBytes(6).toString("hex");
  const secret = randomBytes(24).toString("base64url");
  const key = `fp_${prefix}_${secret}`;
  return { key, prefix, secretHash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The prefix of a well-formed key, or null. */
export function parseApiKey(key: string): { prefix: string } | null {
  const match = /^fp_([0-9a-f]{12})_[A-Za-z0-9_-]{32}$/.exec(key);
  return match?.[1] ? { prefix: match[1] } : null;
}

export function keyMatchesHash(key: string, secretHash: string): boolean {
  const a = Buffer.from(hashApiKey(key), "hex");
  const b = Buffer.from(secretHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What each scope may do. Scopes are ordered: each includes the rights of those below it. */
const SCOPE_RANK: Record<ApiKeyScope, number> = { READ: 0, WORKER: 1, DEVELOPER: 2, ADMIN: 3 };
export function scopeAllows(scope: ApiKeyScope, needed: ApiKeyScope): boolean {
  return SCOPE_RANK[scope] >= SCOPE_RANK[needed];
}
