// Where the server's master key comes from: FLOWPLANE_MASTER_KEY, or else `$FLOWPLANE_HOME/master.key`,
// created (mode 0600) on the first start. The key never enters the database; it seals the signing
// keys and every workspace secret there (see packages/api/src/crypto/envelope.ts).
import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateMasterKey, MasterKeyring, parseMasterKey } from "@flowplane/api";

export interface LoadedMasterKey {
  keyring: MasterKeyring;
  /** Where the current key came from, for the start-up log (never the key itself). */
  source: "FLOWPLANE_MASTER_KEY" | string;
  /** True when this start created master.key. */
  created: boolean;
}

/** Throws a plain Error naming the variable or file at fault; start.ts turns it into a StartupError. */
export async function loadMasterKey(options: {
  home: string;
  masterKey: string | null;
  previousMasterKeys: readonly string[];
}): Promise<LoadedMasterKey> {
  const previous = options.previousMasterKeys.map((text, i) =>
    parseMasterKey(text, `FLOWPLANE_MASTER_KEY_PREVIOUS (entry ${i + 1})`),
  );
  if (options.masterKey)
    return {
      keyring: new MasterKeyring(parseMasterKey(options.masterKey, "FLOWPLANE_MASTER_KEY"), previous),
      source: "FLOWPLANE_MASTER_KEY",
      created: false,
    };
  const file = path.join(options.home, "master.key");
  const created = await createKeyFileIfMissing(file);
  const info = await stat(file);
  // Like ssh with private keys: a key file others can read is refused rather than trusted.
  if ((info.mode & 0o077) !== 0)
    throw new Error(
      `${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run \`chmod 600 ${file}\``,
    );
  const key = parseMasterKey(await readFile(file, "utf8"), file);
  return { keyring: new MasterKeyring(key, previous), source: file, created };
}

/**
 * Writes a new key to a private temporary file and hard-links it into place: the link either
 * creates master.key complete or fails because it exists, so two servers starting together on one
 * home agree on one key and a crash never leaves a half-written key file behind.
 */
async function createKeyFileIfMissing(file: string): Promise<boolean> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temporary, `${generateMasterKey()}\n`, { mode: 0o600, flag: "wx", flush: true });
  try {
    await link(temporary, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await unlink(temporary);
  }
}
