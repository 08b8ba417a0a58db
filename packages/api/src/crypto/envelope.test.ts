// Envelope encryption: values open only with their master key and their context, every value has
// its own data key, and a master key rotation re-wraps data keys without touching ciphertext.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  generateMasterKey,
  isSealed,
  MasterKeyring,
  masterKeyId,
  parseMasterKey,
  SealedValueError,
  sealedMasterKeyId,
} from "./envelope.ts";

const ring = () => new MasterKeyring(randomBytes(32));

function sealedError(fn: () => unknown): SealedValueError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SealedValueError) return err;
    throw err;
  }
  throw new Error("expected a SealedValueError");
}

describe("envelope", () => {
  it("opens what it sealed, and the sealed form holds neither the value nor its base64", () => {
    const keys = ring();
    const value = "canary-Δ-" + randomBytes(8).toString("hex");
    const sealed = keys.seal(value, "secret:ws:DB_PASSWORD");
    expect(isSealed(sealed)).toBe(true);
    expect(sealed.startsWith(`fpenc:v1:${keys.currentId}:`)).toBe(true);
    expect(sealed).not.toContain(value);
    expect(sealed).not.toContain(Buffer.from(value).toString("base64"));
    expect(sealed).not.toContain(Buffer.from(value).toString("base64url"));
    expect(keys.openText(sealed, "secret:ws:DB_PASSWORD")).toBe(value);
  });

  it("uses a fresh data key and IV per value: sealing the same value twice gives unrelated strings", () => {
    const keys = ring();
    const [a, b] = [keys.seal("same", "ctx"), keys.seal("same", "ctx")];
    const parts = (s: string) => s.split(":");
    expect(parts(a)[3]).not.toBe(parts(b)[3]);
    expect(parts(a)[4]).not.toBe(parts(b)[4]);
    expect(parts(a)[5]).not.toBe(parts(b)[5]);
  });

  it("refuses a value moved to another context (row swapping in the database)", () => {
    const keys = ring();
    const sealed = keys.seal("value", "secret:ws-a:TOKEN");
    expect(sealedError(() => keys.open(sealed, "secret:ws-b:TOKEN")).code).toBe("TAMPERED");
  });

  it("refuses altered ciphertext, wrapped keys and truncated or foreign formats", () => {
    const keys = ring();
    const sealed = keys.seal("value", "ctx");
    const parts = sealed.split(":");
    const flip = (s: string) => {
      const bytes = Buffer.from(s, "base64url");
      bytes[bytes.length - 1]! ^= 1;
      return bytes.toString("base64url");
    };
    const withPart = (i: number, v: string) => parts.map((p, j) => (j === i ? v : p)).join(":");
    expect(sealedError(() => keys.open(withPart(5, flip(parts[5]!)), "ctx")).code).toBe("TAMPERED");
    expect(sealedError(() => keys.open(withPart(3, flip(parts[3]!)), "ctx")).code).toBe("TAMPERED");
    expect(sealedError(() => keys.open(withPart(4, flip(parts[4]!)), "ctx")).code).toBe("TAMPERED");
    expect(sealedError(() => keys.open(withPart(1, "v9"), "ctx")).code).toBe("MALFORMED");
    expect(sealedError(() => keys.open(parts.slice(0, 5).join(":"), "ctx")).code).toBe("MALFORMED");
    expect(sealedError(() => keys.open("plain-text", "ctx")).code).toBe("MALFORMED");
  });

  it("a different master key cannot open a value and says which key sealed it", () => {
    const sealed = ring().seal("value", "ctx");
    const other = ring();
    const err = sealedError(() => other.open(sealed, "ctx"));
    expect(err.code).toBe("UNKNOWN_MASTER_KEY");
    expect(err.masterKeyId).toBe(sealedMasterKeyId(sealed));
    expect(err.message).toContain(other.currentId);
  });

  it("rotation: a ring with the previous key opens old values, and rewrap moves only the data key", () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = new MasterKeyring(oldKey).seal("value", "ctx");
    const rotated = new MasterKeyring(newKey, [oldKey]);
    expect(rotated.openText(before, "ctx")).toBe("value");
    const rewrapped = rotated.rewrap(before);
    expect(sealedMasterKeyId(rewrapped)).toBe(masterKeyId(newKey));
    expect(rewrapped.split(":").slice(4)).toEqual(before.split(":").slice(4));
    expect(new MasterKeyring(newKey).openText(rewrapped, "ctx")).toBe("value");
    expect(rotated.rewrap(rewrapped)).toBe(rewrapped);
  });

  it("parses only 32-byte base64 master keys, naming the source", () => {
    expect(parseMasterKey(generateMasterKey(), "FLOWPLANE_MASTER_KEY")).toHaveLength(32);
    expect(parseMasterKey(`${randomBytes(32).toString("base64url")}\n`, "master.key")).toHaveLength(32);
    for (const bad of ["", "short", randomBytes(16).toString("base64"), "%".repeat(44)])
      expect(() => parseMasterKey(bad, "FLOWPLANE_MASTER_KEY")).toThrow(
        /^FLOWPLANE_MASTER_KEY must be 32 random bytes/,
      );
  });
});
