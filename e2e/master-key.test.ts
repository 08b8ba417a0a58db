// The server's master key as an operator meets it: created as $FLOWPLANE_HOME/master.key (0600) on
// the first start and reused after, or taken from FLOWPLANE_MASTER_KEY; a wrong or badly kept key
// stops the start with a message saying what to do, and leaves the database and key file as they were.
import { randomBytes } from "node:crypto";
import { chmod, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createApiClient } from "@flowplane/client";
import { startServer, StartupError, type ServerConfig } from "@flowplane/server";
import { startTestServer, type TestServer } from "./harness.ts";

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const configOf = (server: TestServer, overrides: Partial<ServerConfig> = {}): Partial<ServerConfig> => ({
  databaseUrl: server.db.url,
  port: 0,
  home: server.home,
  logLevel: "silent",
  masterKey: null,
  ...overrides,
});

async function signingKeyRows(server: TestServer) {
  return (await server.db.pool.query(`SELECT * FROM "SigningKey" ORDER BY id`)).rows;
}

async function startupError(config: Partial<ServerConfig>): Promise<StartupError> {
  const err = await startServer(config).then(
    async (s) => {
      await s.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StartupError);
  return err as StartupError;
}

describe("master key", () => {
  it("the first start creates master.key with mode 0600; a restart reuses it and sessions survive", async () => {
    t = await startTestServer({ masterKey: null });
    const file = path.join(t.home, "master.key");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const key = await readFile(file, "utf8");
    expect(Buffer.from(key.trim(), "base64")).toHaveLength(32);
    const session = await t.api.auth.createSession.mutate({ apiKey: t.adminKey });

    await t.stopServer();
    const again = await startServer(configOf(t));
    try {
      expect(await readFile(file, "utf8")).toBe(key);
      const viaSession = createApiClient({ apiUrl: again.url, apiKey: session.token, workspace: "default" });
      expect((await viaSession.auth.whoami.query()).via).toBe("session");
    } finally {
      await again.close();
    }
  });

  it("a wrong FLOWPLANE_MASTER_KEY stops the start with a clear error; the database and master.key are untouched", async () => {
    t = await startTestServer({ masterKey: null });
    const file = path.join(t.home, "master.key");
    const keyBefore = await readFile(file, "utf8");
    const session = await t.api.auth.createSession.mutate({ apiKey: t.adminKey });
    await t.stopServer();
    const rowsBefore = await signingKeyRows(t);

    const err = await startupError(configOf(t, { masterKey: randomBytes(32).toString("base64") }));
    expect(err.message).toMatch(/the master key cannot open signing key .*sealed with master key [0-9a-f]{16}/);
    expect(err.message).toMatch(/FLOWPLANE_MASTER_KEY.*nothing was changed/);
    expect(await signingKeyRows(t)).toEqual(rowsBefore);
    expect(await readFile(file, "utf8")).toBe(keyBefore);

    // The right key (here the file's, given through the environment) starts it, and old sessions verify.
    const right = await startServer(configOf(t, { masterKey: keyBefore.trim() }));
    try {
      const viaSession = createApiClient({ apiUrl: right.url, apiKey: session.token, workspace: "default" });
      expect((await viaSession.auth.whoami.query()).via).toBe("session");
    } finally {
      await right.close();
    }
  });

  it("FLOWPLANE_MASTER_KEY is used instead of a key file, and a malformed one is refused by name", async () => {
    const envKey = randomBytes(32).toString("base64");
    t = await startTestServer({ masterKey: envKey });
    await expect(stat(path.join(t.home, "master.key"))).rejects.toMatchObject({ code: "ENOENT" });
    await t.stopServer();
    const err = await startupError(configOf(t, { masterKey: "not-a-key" }));
    expect(err.message).toMatch(/^FLOWPLANE_MASTER_KEY must be 32 random bytes in base64/);
  });

  it("a master.key readable by other users is refused with the command that fixes it", async () => {
    t = await startTestServer({ masterKey: null });
    await t.stopServer();
    const file = path.join(t.home, "master.key");
    await chmod(file, 0o644);
    const err = await startupError(configOf(t));
    expect(err.message).toBe(`${file} is readable by other users (mode 644); run \`chmod 600 ${file}\``);
  });
});
