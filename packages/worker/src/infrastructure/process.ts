// The `process` pool: each run is a child process on the worker's machine. The child gets a stdin
// pipe it never reads from; the runner exits when that pipe closes, so a worker killed with SIGKILL
// takes its runs down with it and their heartbeats stop (the server then crashes and retries them).
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { commandArgv, CommandSyntaxError } from "@flowplane/core";
import { InfrastructureError, type ExitResult, type Infrastructure, type JobSpec, type RunningJob } from "./types.ts";

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

export class ProcessInfrastructure implements Infrastructure {
  readonly type = "process" as const;

  async submit(job: JobSpec): Promise<RunningJob> {
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
      id: String(pid),
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
   */
  async stop(id: string, graceMs: number, flowRunId?: string): Promise<void> {
    const pid = Number(id);
    if (!Number.isInteger(pid) || pid <= 1)
      throw new InfrastructureError(`infrastructure id ${JSON.stringify(id)} is not a pid`);
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
