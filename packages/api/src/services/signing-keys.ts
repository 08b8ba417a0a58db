// The token signing keys, sealed at rest with the master key (crypto/envelope.ts) and shared by
// every replica through the database. Reading the database is not enough to forge a token: the
// secrets there are ciphertext, and the master key never enters the database.
import { randomBytes } from "node:crypto";
import { uuidv7 } from "@flowplane/core";
import type { Db } from "@flowplane/db";
import { isSealed, SealedValueError, sealedMasterKeyId, type MasterKeyring } from "../crypto/envelope.ts";
import type { SigningKeySet } from "../auth/token-signer.ts";

/** The master key cannot open what the database holds; raised before anything is written. */
export class MasterKeyMismatchError extends Error {
  override name = "MasterKeyMismatchError";
}

const sealingContext = (kid: string) => `signing-key:${kid}`;
const LOCK = `SELECT pg_advisory_xact_lock(hashtextextended('flowplane:signing-key', 0))`;

export interface SigningKeyRotationPolicy {
  /** The current key signs for this long before a new one takes over. */
  maxAgeSeconds: number;
  /** How long a retired key keeps verifying: `retiredKeyWindowSeconds(maxTokenTtlSeconds)`. */
  keepRetiredSeconds: number;
}

/**
 * A retired key must verify every token it signed: the longest token lifetime, plus the time a
 * replica may keep signing with a key it has not yet seen retired (TokenSigner re-reads every 60 s).
 */
export function retiredKeyWindowSeconds(maxTokenTtlSeconds: number): number {
  return maxTokenTtlSeconds + 600;
}

/** The retirement time given to keys that must never verify again (pruned at the next pass). */
const DISOWNED = new Date(0);

/**
 * Reads (and on the first start creates) the signing keys: the newest unretired key signs, and
 * keys retired less than `keepRetiredSeconds` ago still verify.
 *
 * Keys stored in plain text by earlier versions are sealed in place here — the data half of
 * migration `signing_key_rotation`, which SQL cannot do because only the server holds the master
 * key. Since anyone who could read the database may have copied the plain value, such a key is
 * also disowned (it verifies nothing more, and a new sealed key signs); sessions signed with it
 * carry no key id and must sign in again. Every sealed key is opened before anything is written,
 * so a wrong master key fails here with MasterKeyMismatchError and nothing changed.
 */
export async function loadSigningKeys(
  db: Db,
  masterKeys: MasterKeyring,
  policy: Pick<SigningKeyRotationPolicy, "keepRetiredSeconds">,
): Promise<SigningKeySet> {
  const rows = await db.signingKey.findMany({
    select: { id: true, secret: true, retiredAt: true },
    orderBy: { createdAt: "asc" },
  });
  const verifyingSince = Date.now() - policy.keepRetiredSeconds * 1000;
  const verifying = new Map<string, Uint8Array>();
  const plain: { id: string; secret: string }[] = [];
  for (const row of rows) {
    if (!isSealed(row.secret)) {
      plain.push(row);
      continue;
    }
    let secret: Buffer;
    try {
      secret = masterKeys.open(row.secret, sealingContext(row.id));
    } catch (err) {
      if (err instanceof SealedValueError) throw mismatch(row.id, row.secret, masterKeys, err);
      throw err;
    }
    if (row.retiredAt === null || row.retiredAt.getTime() > verifyingSince) verifying.set(row.id, secret);
  }
  if (plain.length > 0) {
    await sealPlainSigningKeys(db, masterKeys, plain);
    return loadSigningKeys(db, masterKeys, policy);
  }
  const current = rows.findLast((r) => r.retiredAt === null);
  if (!current) {
    await db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(LOCK);
      // Another replica may have created it while we waited for the lock.
      const again = await tx.signingKey.findFirst({ where: { retiredAt: null }, select: { id: true } });
      if (!again) await insertKey(tx as unknown as Db, masterKeys);
    });
    return loadSigningKeys(db, masterKeys, policy);
  }
  return { current: { kid: current.id, secret: verifying.get(current.id)! }, verifying };
}

async function sealPlainSigningKeys(
  db: Db,
  masterKeys: MasterKeyring,
  plain: readonly { id: string; secret: string }[],
): Promise<void> {
  await db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe(LOCK);
    for (const row of plain) {
      const secret = Buffer.from(row.secret, "base64url");
      // Conditional on the plain value: a replica that sealed it first wins, and we leave its row alone.
      await tx.signingKey.updateMany({
        where: { id: row.id, secret: row.secret },
        data: { secret: masterKeys.seal(secret, sealingContext(row.id)), retiredAt: DISOWNED },
      });
      secret.fill(0);
    }
  });
}

async function insertKey(db: Db, masterKeys: MasterKeyring): Promise<string> {
  // The id is the kid and part of the sealing context, so it is chosen before sealing.
  const id = uuidv7();
  const secret = randomBytes(32);
  await db.signingKey.create({
    data: { id, secret: masterKeys.seal(secret, sealingContext(id)) },
    select: { id: true },
  });
  secret.fill(0);
  return id;
}

/**
 * Puts a new signing key in charge and retires the previous one (it keeps verifying); deletes
 * keys retired longer than `keepRetiredSeconds` ago. Returns the new key id.
 */
export async function rotateSigningKey(
  db: Db,
  masterKeys: MasterKeyring,
  policy: Pick<SigningKeyRotationPolicy, "keepRetiredSeconds">,
): Promise<string> {
  return db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe(LOCK);
    await tx.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: new Date() } });
    const kid = await insertKey(tx as unknown as Db, masterKeys);
    await pruneRetired(tx as unknown as Db, policy.keepRetiredSeconds);
    return kid;
  });
}

/** The background rotation: a new key once the current one is `maxAgeSeconds` old (one replica at a time). */
export async function rotateSigningKeyIfDue(
  db: Db,
  masterKeys: MasterKeyring,
  policy: SigningKeyRotationPolicy,
): Promise<{ rotated: string | null; pruned: number }> {
  return db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe(LOCK);
    const current = await tx.signingKey.findFirst({
      where: { retiredAt: null },
      orderBy: { createdAt: "desc" },
      select: { createdAt: true },
    });
    let rotated: string | null = null;
    if (!current || current.createdAt.getTime() <= Date.now() - policy.maxAgeSeconds * 1000) {
      await tx.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: new Date() } });
      rotated = await insertKey(tx as unknown as Db, masterKeys);
    }
    return { rotated, pruned: await pruneRetired(tx as unknown as Db, policy.keepRetiredSeconds) };
  });
}

async function pruneRetired(db: Db, keepRetiredSeconds: number): Promise<number> {
  const { count } = await db.signingKey.deleteMany({
    where: { retiredAt: { lt: new Date(Date.now() - keepRetiredSeconds * 1000) } },
  });
  return count;
}

function mismatch(kid: string, sealed: string, masterKeys: MasterKeyring, err: SealedValueError): Error {
  let sealedWith = err.masterKeyId;
  try {
    sealedWith ??= sealedMasterKeyId(sealed);
  } catch {
    // Malformed: reported as such below.
  }
  const detail =
    err.code === "UNKNOWN_MASTER_KEY"
      ? `it was sealed with master key ${sealedWith}, and this server has ${masterKeys.ids.join(", ")}`
      : err.code === "TAMPERED"
        ? `master key ${sealedWith} does not authenticate it (altered in the database?)`
        : err.message;
  return new MasterKeyMismatchError(
    `the master key cannot open signing key ${kid}: ${detail}. Start with the FLOWPLANE_MASTER_KEY (or ` +
      `$FLOWPLANE_HOME/master.key) this database was encrypted with; nothing was changed`,
  );
}
