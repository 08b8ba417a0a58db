// How the CLI talks to people and scripts: `--json` prints exactly one JSON document on stdout;
// otherwise a table. Errors go to stderr, one line, non-zero exit.
import { apiErrorInfo } from "@flowplane/client";

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export function printTable(rows: Record<string, unknown>[], columns: string[], empty = "(none)"): void {
  if (rows.length === 0) {
    process.stdout.write(empty + "\n");
    return;
  }
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  process.stdout.write([line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join("\n") + "\n");
}

export function printFields(fields: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(fields).map((k) => k.length));
  for (const [k, v] of Object.entries(fields)) process.stdout.write(`${k.padEnd(width)}  ${formatCell(v)}\n`);
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** Progress for long work: on stderr, so `--json` output stays clean. */
export function progress(message: string): void {
  process.stderr.write(message + "\n");
}

/** Reports any failure of a command as one stderr line and exits non-zero. */
export function reportAndExit(err: unknown): never {
  if (err instanceof CliError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  const info = apiErrorInfo(err);
  const message = info.unreachable
    ? `cannot reach the Flowplane API (${info.message}); is the server running?`
    : info.message;
  process.stderr.write(`error: ${message}\n`);
  process.exit(info.code === "UNAUTHENTICATED" || info.code === "UNAUTHORIZED" ? 3 : 1);
}

/** Parses repeated `k=v` flags; values that parse as JSON (numbers, booleans, objects) are typed. */
export function parseKeyValues(pairs: string[], flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError(`${flag} ${JSON.stringify(pair)}: expected KEY=VALUE`, 2);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    setPath(out, key, value);
  }
  return out;
}

/** `env.FOO=bar` sets out.env.FOO, so job variables' maps can be given key by key. */
function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    node = (next && typeof next === "object" && !Array.isArray(next) ? next : (node[part] = {})) as Record<
      string,
      unknown
    >;
  }
  node[parts[parts.length - 1]!] = value;
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];

// C0 controls but tab, DEL, C1 controls (0x9b is a one-byte CSI on some terminals), bidirectional
// overrides and isolates, and the Unicode line and paragraph separators.
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from outside (log lines a run wrote) as a terminal may show it: every control character is
 * printed as an escape (`\x1b`, `\r`, `\n`, `\u202e`), so a line cannot move the cursor, rewrite
 * or clear the screen, set the clipboard (OSC 52), ring the bell, or start what looks like a line
 * of its own.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
