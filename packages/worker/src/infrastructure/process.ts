// The `process` pool: each run is a child process on the worker's machine. The child gets a stdin
// pipe it never reads from; the runner exits when that pipe closes, so a worker killed with SIGKILL
// takes its runs down with it and their heartbeats stop (the server then crashes and retries them).
import { spawn } from "node:child_process";
import { readFile, readlink } from "node:fs/promises";
import os from "node:os";
import { createInterface } from "node:readline";
import { commandArgv, CommandSyntaxError } from "@flowplane/core";
import {
  InfrastructureError,
  JobElsewhereError,
  type ExitResult,
  type Infrastructure,
  type JobSpec,
  type RunningJob,
} from "./types.ts";

/**
 * The argv to start: a string command is split into words as the pool's schema says, with no
 * shell and so no expansion (a job variable cannot run `$(...)` or read the worker's variables),
 * the same argv the docker pool runs.
 */
function commandOf(configured: unknown, fallback: string[]): string[] {
  if (configured === null || configured === undefined || configured === "") return fallback;
  try {
    return commandArgv(configured) ?? fallback;
  } catch (err) {
    if (err instanceof CommandSyntaxError) throw new InfrastructureError(`command: ${err.message}`);
    throw err;
  }
}

/**
 * What a run inherits from the worker's environment: operating-system basics a program needs to
 * run at all (find programs, a home, a locale, a time zone, a temporary directory), the Node
 * flags the worker passes to its runners anyway (NODE_OPTIONS, like its execArgv; a CA file), and
 * FLOWPLANE_HOME (where runs keep results and caches). Nothing else: a worker's environment holds
 * its own credentials (its API key, cloud keys), and a run gets only what its job template's `env`
 * gives it plus Flowplane's variables (issue 13.4).
 */
export const INHERITED_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TEMP",
  "TMP",
  "NODE_OPTIONS",
  "NODE_EXTRA_CA_CERTS",
  "FLOWPLANE_HOME",
];

/** The allowlisted part of `env`: INHERITED_ENV and the locale categories (LC_*). */
export function inheritedEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && (INHERITED_ENV.includes(entry[0]) || /^LC_[A-Z]+$/.test(entry[0])),
    ),
  );
}

function stringEnv(value: unknown): Record<string, string> {
  if (!value || typeof value !== "object") return {};
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
}

export interface ProcessInfrastructureOptions {
  /** Where this worker's pids mean something (default: hostIdentity()); tests name another host. */
  hostIdentity?: string;
}

/**
 * The space a pid of this process belongs to: the kernel's boot id and the inode of this process's
 * pid namespace, as "<boot id>.<inode>". The boot id is random per boot of a machine, so it tells
 * machines apart (and a pid from before a reboot from one after it); the namespace tells apart
 * containers sharing one kernel (each has its own pids, while its boot id is the host's). Neither
 * /etc/machine-id (copied with a VM or container image, often absent in containers) nor the
 * hostname (shared by containers with --uts=host, changed by an administrator) says that. Where
 * there is no /proc (macOS), the hostname: stop() from a stored pid needs /proc anyway.
 */
export async function hostIdentity(): Promise<string> {
  const [boot, namespace] = await Promise.all([
    readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => null),
    readlink("/proc/self/ns/pid").catch(() => null),
  ]);
  const inode = /\[(\d+)\]/.exec(namespace ?? "")?.[1];
  return boot && inode ? `${boot.trim()}.${inode}` : os.hostname();
}

/**
 * A stored id: "<host identity>:<pid>", or a bare pid as stored before ids named their host (read
 * as this host's: the pid check in stop() still guards it).
 */
function parseProcessId(id: string): { host: string | null; pid: number } {
  const at = id.lastIndexOf(":");
  const pid = Number(id.slice(at + 1));
  if (!/^\d+$/.test(id.slice(at + 1)) || pid <= 1 || at === 0)
    throw new InfrastructureError(`infrastructure id ${JSON.stringify(id)} is not a pid`);
  return { host: at < 0 ? null : id.slice(0, at), pid };
}

export class ProcessInfrastructure implements Infrastructure {
  readonly type = "process" as const;
  private readonly host: Promise<string>;

  constructor(options: ProcessInfrastructureOptions = {}) {
    this.host = options.hostIdentity !== undefined ? Promise.resolve(options.hostIdentity) : hostIdentity();
  }

  async jobIdPrefix(): Promise<string> {
    return `${await this.host}:`;
  }

  async submit(job: JobSpec): Promise<RunningJob> {
    const prefix = await this.jobIdPrefix();
    const config = job.configuration;
    const [file, ...args] = commandOf(config["command"], job.defaultCommand);
    if (!file) throw new InfrastructureError("command: empty");
    const cwd =
      typeof config["working_dir"] === "string" && config["working_dir"]
        ? (config["working_dir"] as string)
        : process.cwd();
    const stream = config["stream_output"] !== false;
    const child = spawn(file, args, {
      cwd,
      env: { ...inheritedEnv(), ...stringEnv(config["env"]), ...job.env, FLOWPLANE_EXIT_WITH_PARENT: "1" },
      stdio: ["pipe", "pipe", "pipe"],
      // Own process group, so stop() reaches the runner and anything it started.
      detached: true,
    });
    const spawned = await new Promise<{ ok: true } | { ok: false; error: Error }>((resolve) => {
      child.once("spawn", () => resolve({ ok: true }));
      child.once("error", (error) => resolve({ ok: false, error }));
    });
    if (!spawned.ok) {
      const code = (spawned.error as NodeJS.ErrnoException).code;
      throw new InfrastructureError(
        code === "ENOENT"
          ? `command not found: ${file} (working directory ${cwd})`
          : `could not start ${file}: ${spawned.error.message}`,
      );
    }
    for (const [source, name] of [
      [child.stdout, "stdout"],
      [child.stderr, "stderr"],
    ] as const) {
      const lines = createInterface({ input: source });
      lines.on("line", (line) => {
        if (stream) job.onOutput(line, name);
      });
    }
    let stopRequested = false;
    const exited = new Promise<ExitResult>((resolve) => {
      child.once("exit", (code, signal) => {
        const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
        resolve({ exitCode: code, reason, stopped: stopRequested });
      });
    });
    const pid = child.pid!;
    return {
      // A pid means something only on its host: the id says which (see hostIdentity).
      id: `${prefix}${pid}`,
      exited,
      async stop(graceMs: number) {
        stopRequested = true;
        signalGroup(pid, "SIGTERM");
        const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
        // Whatever the runner started in its group goes too.
        signalGroup(pid, "SIGKILL");
      },
    };
  }

  /**
   * Stops a run's process group from its pid (a worker restarted on the same machine): SIGTERM,
   * SIGKILL after the grace, resolved once the group leader is gone. A runner exits with the worker
   * that started it, so a pid from before a restart is usually gone or, worse, reused (or it names
   * a process on another machine): only a process running that flow run's runner is signalled.
   * A pid of another host is refused (JobElsewhereError): its /proc is not ours to read, and
   * answering "gone" would let the run read CANCELLED while its process runs there.
   */
  async stop(id: string, graceMs: number, flowRunId?: string): Promise<void> {
    const { host, pid } = parseProcessId(id);
    const here = await this.host;
    if (host !== null && host !== here)
      throw new JobElsewhereError(`process ${pid} runs on host ${host}, not on this worker's host ${here}`);
    if (!flowRunId || !(await isRunnerOf(pid, flowRunId))) return;
    signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (alive(pid)) {
      if (Date.now() > deadline) signalGroup(pid, "SIGKILL");
      await new Promise((r) => setTimeout(r, 50));
    }
    signalGroup(pid, "SIGKILL");
  }
}

async function isRunnerOf(pid: number, flowRunId: string): Promise<boolean> {
  const environ = (await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "")).split("\0");
  return environ.includes("FLOWPLANE_EXIT_WITH_PARENT=1") && environ.includes(`FLOWPLANE_FLOW_RUN_ID=${flowRunId}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
