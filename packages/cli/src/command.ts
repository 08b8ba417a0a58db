// How a CLI command that prints data is declared, and how its flags are checked, so that every
// command keeps the same contract: `--json` prints exactly one JSON document on stdout, bad flags
// are named in a CliError with exit code 2.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { ApiClient } from "@flowplane/client";
import { connect, type GlobalOptions } from "./api.ts";
import { CliError, printJson } from "./output.ts";

export interface DataCommandSpec<Args extends unknown[], Options, Result> {
  /** Does the command's work against the API; its answer is what `--json` prints. */
  call(api: ApiClient, args: Args, opts: GlobalOptions & Options): Promise<Result>;
  /** Prints the answer for people (a table, fields or one line); may throw a CliError. */
  print(result: Result, args: Args, opts: GlobalOptions & Options): void;
}

/**
 * Completes `command` (already named, described and given its own options) as a data command: it
 * gains `--json`, connects to the API, and prints `call`'s answer as JSON or through `print`.
 * Positional arguments reach `call` as a tuple, e.g. `call: (api, [id]: [string]) => ...`.
 *
 * @example
 * dataCommand(keys.command("revoke <id>").description("revoke an API key"), {
 *   call: (api, [id]: [string]) => api.apiKeys.revoke.mutate({ id }),
 *   print: (key) => say(`revoked key "${key.name}" (${key.id})`),
 * });
 */
export function dataCommand<Result, Args extends unknown[] = [], Options = object>(
  command: Command,
  spec: DataCommandSpec<Args, Options, Result>,
): Command {
  return command.option("--json", "print the result as JSON").action(async (...params: unknown[]) => {
    // commander calls an action with the positional arguments, then the options, then the command.
    const args = params.slice(0, -2) as Args;
    const opts = params[params.length - 2] as GlobalOptions & Options;
    const result = await spec.call(await connect(opts), args, opts);
    if (opts.json) printJson(result);
    else spec.print(result, args, opts);
  });
}

/** One line for people on stdout. */
export function say(line: string): void {
  process.stdout.write(line + "\n");
}

/**
 * Parses a flag that takes one of a fixed set of values (commander calls it while parsing, so a bad
 * value is refused before anything connects); `normalise` maps what the user typed to the value.
 */
export function oneOf<T extends string>(
  flag: string,
  allowed: readonly T[],
  normalise: (value: string) => string = (value) => value,
): (value: string) => T {
  return (value) => {
    const normalised = normalise(value);
    if (!(allowed as readonly string[]).includes(normalised))
      throw new CliError(`${flag} ${JSON.stringify(value)}: expected one of ${allowed.join(", ")}`, 2);
    return normalised as T;
  };
}

/**
 * Parses a flag that takes a whole number in [min, max]; `unit` names what it counts in the
 * message ("expected a whole number of days >= 1").
 */
export function wholeNumber(
  flag: string,
  range: { min: number; max?: number; unit?: string },
): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (Number.isInteger(n) && n >= range.min && (range.max === undefined || n <= range.max)) return n;
    const bounds = range.max === undefined ? `>= ${range.min}` : `${range.min}-${range.max}`;
    throw new CliError(
      `${flag} ${JSON.stringify(value)}: expected a whole number${range.unit ? ` of ${range.unit}` : ""} ${bounds}`,
      2,
    );
  };
}

/** The text of the file a flag names; a missing or unreadable file is the flag's error. */
export function readFlagFile(flag: string, file: string): Promise<string> {
  return readFile(file, "utf8").catch((err: Error) => {
    throw new CliError(`${flag} ${file}: ${err.message}`, 2);
  });
}

/** Parses a flag that takes an ISO-8601 date or time (the text stays as typed, for messages). */
export function isoTime(flag: string): (value: string) => string {
  return (value) => {
    const d = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime()))
      throw new CliError(
        `${flag} ${JSON.stringify(value)}: expected an ISO-8601 date or time, e.g. 2026-01-01T00:00:00Z`,
        2,
      );
    return value;
  };
}

/** All of stdin (secret values, passwords: never arguments, which shell history and `ps` keep). */
export async function readStdin(what: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`enter ${what}, then Ctrl-D:\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // `echo value | flowplane secret set X` adds a newline nobody means to store.
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}
