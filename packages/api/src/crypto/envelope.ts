// Envelope encryption for everything Flowplane keeps secret at rest (token signing keys, workspace
// secrets). Each value gets its own random 256-bit data key; the value is encrypted with the data
// key (AES-256-GCM) and the data key is wrapped by the master key (AES-256-GCM again). Rotating
// the master key therefore re-wraps 60-byte data keys and never touches the values themselves.
//
// Stored form, one ASCII string (versioned so the format can change without guessing):
//
//   fpenc:v1:<master key id>:<wrapped data key>:<iv>:<ciphertext+tag>      (base64url parts)
//
// The master key id is a fingerprint (HMAC of a fixed label), so a sealed value says which master
// key opens it without revealing anything about that key. The value's ciphertext is bound to a
// caller-chosen context (for example `secret:<workspace id>:<name>`) as associated data: someone
// who can write to the database cannot move a sealed value to another row and have it decrypt.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

const PREFIX = "fpenc";
const VERSION = "v1";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type SealedValueErrorCode =
  /** No master key in the ring has the id the value was sealed with. */
  | "UNKNOWN_MASTER_KEY"
  /** Not a sealed value of a version this code knows. */
  | "MALFORMED"
  /** Authentication failed: wrong context, or the stored bytes were altered. */
  | "TAMPERED";

export class SealedValueError extends Error {
  override name = "SealedValueError";
  constructor(
    readonly code: SealedValueErrorCode,
    message: string,
    /** The master key id the value names, when it could be read. */
    readonly masterKeyId: string | null = null,
  ) {
    super(message);
  }
}

/** The fingerprint by which sealed values name their master key (16 hex characters). */
export function masterKeyId(key: Uint8Array): string {
  return createHmac("sha256", key).update("flowplane master key id").digest("hex").slice(0, 16);
}

/** A new master key in the text form FLOWPLANE_MASTER_KEY and master.key hold (base64, 32 bytes). */
export function generateMasterKey(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

/** Parses a master key's text form; `source` names where it came from for the error message. */
export function parseMasterKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, "base64") : Buffer.alloc(0);
  if (bytes.length !== KEY_BYTES)
    throw new Error(
      `${source} must be ${KEY_BYTES} random bytes in base64 (44 characters; \`openssl rand -base64 32\`), got ${trimmed.length} characters`,
    );
  return bytes;
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(`${PREFIX}:`);
}

/** The id of the master key a sealed value was wrapped with. */
export function sealedMasterKeyId(sealed: string): string {
  return parse(sealed).masterKeyId;
}

/**
 * The master key that seals new values, plus earlier master keys that still open values sealed
 * before a rotation (until `rewrap` has moved them to the current key).
 */
export class MasterKeyring {
  readonly currentId: string;
  private readonly byId = new Map<string, Buffer>();

  constructor(current: Uint8Array, previous: readonly Uint8Array[] = []) {
    this.currentId = masterKeyId(current);
    for (const key of [current, ...previous]) {
      if (key.length !== KEY_BYTES) throw new Error(`a master key must be ${KEY_BYTES} bytes, got ${key.length}`);
      const id = masterKeyId(key);
      if (!this.byId.has(id)) this.byId.set(id, Buffer.from(key));
    }
  }

  /** Ids of every master key in the ring, current first. */
  get ids(): string[] {
    return [...this.byId.keys()];
  }

  seal(plaintext: string | Uint8Array, context: string): string {
    const dataKey = randomBytes(KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", dataKey, iv);
    cipher.setAAD(valueAad(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const wrapped = this.wrap(dataKey, this.currentId);
    dataKey.fill(0);
    return [PREFIX, VERSION, this.currentId, b64(wrapped), b64(iv), b64(body)].join(":");
  }

  open(sealed: string, context: string): Buffer {
    const parts = parse(sealed);
    const dataKey = this.unwrap(parts.masterKeyId, parts.wrappedKey);
    try {
      const decipher = createDecipheriv("aes-256-gcm", dataKey, parts.iv);
      decipher.setAAD(valueAad(context));
      decipher.setAuthTag(parts.body.subarray(parts.body.length - TAG_BYTES));
      return Buffer.concat([decipher.update(parts.body.subarray(0, parts.body.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealedValueError("TAMPERED", "sealed value does not authenticate for its context", parts.masterKeyId);
    } finally {
      dataKey.fill(0);
    }
  }

  openText(sealed: string, context: string): string {
    return this.open(sealed, context).toString("utf8");
  }

  /** The same value with its data key wrapped by the current master key (the ciphertext is kept). */
  rewrap(sealed: string): string {
    const parts = parse(sealed);
    if (parts.masterKeyId === this.currentId) return sealed;
    const dataKey = this.unwrap(parts.masterKeyId, parts.wrappedKey);
    const wrapped = this.wrap(dataKey, this.currentId);
    dataKey.fill(0);
    return [PREFIX, VERSION, this.currentId, b64(wrapped), b64(parts.iv), b64(parts.body)].join(":");
  }

  private wrap(dataKey: Buffer, id: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.byId.get(id)!, iv);
    cipher.setAAD(wrapAad(id));
    return Buffer.concat([iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
  }

  private unwrap(id: string, wrapped: Buffer): Buffer {
    const key = this.byId.get(id);
    if (!key)
      throw new SealedValueError(
        "UNKNOWN_MASTER_KEY",
        `sealed with master key ${id}, which is not among the configured master keys (${this.ids.join(", ")})`,
        id,
      );
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, wrapped.subarray(0, IV_BYTES));
      decipher.setAAD(wrapAad(id));
      decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
      return Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES, wrapped.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealedValueError("TAMPERED", "wrapped data key does not authenticate", id);
    }
  }
}

const b64 = (bytes: Buffer) => bytes.toString("base64url");
const valueAad = (context: string) => Buffer.from(`${PREFIX}:${VERSION}:value:${context}`);
const wrapAad = (id: string) => Buffer.from(`${PREFIX}:${VERSION}:data-key:${id}`);

function parse(sealed: string): { masterKeyId: string; wrappedKey: Buffer; iv: Buffer; body: Buffer } {
  const parts = sealed.split(":");
  if (parts[0] !== PREFIX) throw new SealedValueError("MALFORMED", "not a sealed value");
  if (parts[1] !== VERSION)
    throw new SealedValueError("MALFORMED", `sealed value version ${parts[1] ?? "(none)"} is not supported`);
  const [, , id, wrapped, iv, body] = parts;
  if (parts.length !== 6 || !id || !wrapped || !iv || !body)
    throw new SealedValueError("MALFORMED", "truncated sealed value");
  const parsed = {
    masterKeyId: id,
    wrappedKey: Buffer.from(wrapped, "base64url"),
    iv: Buffer.from(iv, "base64url"),
    body: Buffer.from(body, "base64url"),
  };
  if (
    parsed.wrappedKey.length !== IV_BYTES + KEY_BYTES + TAG_BYTES ||
    parsed.iv.length !== IV_BYTES ||
    parsed.body.length < TAG_BYTES
  )
    throw new SealedValueError("MALFORMED", "truncated sealed value", id);
  return parsed;
}
