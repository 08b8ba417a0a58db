// Passwords: scrypt from node:crypto (memory-hard, no native dependency), and the rules a new
// password must pass. The hash records its parameters, so raising the cost later still verifies
// older hashes.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { ApiError } from "../errors.ts";

export const MIN_PASSWORD_LENGTH = 12;
/** Long passphrases are welcome; unbounded input to a slow hash is not. */
export const MAX_PASSWORD_LENGTH = 256;
/** Cost 2^15 with r=8 takes ~50-100 ms and 32 MiB here: slow for a guesser, fine for a sign-in. */
export const DEFAULT_SCRYPT_COST = 2 ** 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize("NFKC"), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const maxmem = (N: number, r: number) => 256 * N * r;

/** `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string, cost = DEFAULT_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, {
    N: cost,
    r: BLOCK_SIZE,
    p: PARALLELISM,
    maxmem: maxmem(cost, BLOCK_SIZE),
  });
  return `scrypt$${cost}$${BLOCK_SIZE}$${PARALLELISM}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !hash) return false;
  const N = Number(n);
  const R = Number(r);
  const expected = Buffer.from(hash, "base64url");
  const key = await scrypt(password, Buffer.from(salt, "base64url"), expected.length, {
    N,
    r: R,
    p: Number(p),
    maxmem: maxmem(N, R),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of nothing anyone knows, checked against when the email is unknown, so timing does not tell. */
let decoy: Promise<string> | null = null;
export async function verifyAgainstDecoy(password: string, cost = DEFAULT_SCRYPT_COST): Promise<void> {
  decoy ??= hashPassword(randomBytes(24).toString("base64url"), cost);
  await verifyPassword(password, await decoy);
}

let common: Promise<Set<string>> | null = null;
/** The 49k most common passwords of @zxcvbn-ts/language-common (from breach corpora), loaded once. */
function commonPasswords(): Promise<Set<string>> {
  common ??= import("@zxcvbn-ts/language-common").then(
    (m) => new Set((m.dictionary["passwords-common"] as string[]).map((p) => p.toLowerCase())),
  );
  return common;
}

/**
 * Refuses a new password that is short, too long, among the common passwords of breach lists (also
 * with digits or symbols appended), or built from the user's email. Throws INVALID_INPUT naming
 * `field`.
 */
export async function assertAcceptablePassword(password: string, email: string, field = "password"): Promise<void> {
  const refuse = (why: string) => {
    throw new ApiError("INVALID_INPUT", `${field}: ${why}`, { path: field });
  };
  if ([...password].length < MIN_PASSWORD_LENGTH) refuse(`must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) refuse(`must be at most ${MAX_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  const local = email.toLowerCase().split("@")[0] ?? "";
  if (lower.includes(email.toLowerCase()) || (local.length >= 4 && lower.includes(local)))
    refuse("must not contain your email address");
  if (new Set(lower).size < 4) refuse("uses too few different characters");
  const list = await commonPasswords();
  const stem = lower.replace(/[\d\W_]+$/u, "");
  if (list.has(lower) || (stem.length > 0 && list.has(stem) && stem.length < MIN_PASSWORD_LENGTH))
    refuse("is among the most common passwords in breach lists; choose another");
}
