// Running the tools steps drive (git, tar, npm, pnpm, yarn): no shell, output streamed line by line
// to the step's log (redacted), and the last lines kept for the failure message.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { Redactor } from "@flowplane/core";

export interface CommandOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Each output line, after redaction. */
  log?: (line: string) => void;
  redactor?: Redactor;
  /** Piped to the command's stdin. */
  stdin?: Readable | string;
  /** Receives stdout raw instead of the log (e.g. a tar stream). */
  stdout?: Writable;
  /** Stdout is the command's answer (e.g. `git rev-parse`), not worth a log line. */
  quiet?: boolean;
}

export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    /** The last output lines (redacted). */
    readonly output: string,
  ) {
    super(
      `${command} ${exitCode === null ? "was killed" : `exited with code ${exitCode}`}${output ? `: ${output}` : ""}`,
    );
  }
}

const TAIL_LINES = 15;

/** Runs `file args`; resolves with its stdout text (unless `stdout` takes it), rejects with CommandError. */
export function runCommand(file: string, args: string[], options: CommandOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const tail: string[] = [];
    let text = "";
    const redact = (line: string) => options.redactor?.text(line) ?? line;
    const take = (line: string) => {
      const clean = redact(line);
      tail.push(clean);
      if (tail.length > TAIL_LINES) tail.shift();
      options.log?.(clean);
    };
    if (options.stdout) child.stdout!.pipe(options.stdout);
    else
      createInterface({ input: child.stdout! }).on("line", (line) => {
        text += `${line}\n`;
        if (!options.quiet) take(line);
      });
    createInterface({ input: child.stderr! }).on("line", take);
    if (typeof options.stdin === "string") child.stdin!.end(options.stdin);
    else if (options.stdin) options.stdin.pipe(child.stdin!);
    child.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "ENOENT"
          ? new CommandError(file, null, `${file} is not installed (not found on PATH)`)
          : new CommandError(file, null, err.message),
      ),
    );
    child.once("close", (code) => {
      if (code === 0) resolve(text);
      else reject(new CommandError(`${file} ${args[0] ?? ""}`.trim(), code, tail.slice(-TAIL_LINES).join("\n")));
    });
  });
}
