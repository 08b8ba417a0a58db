// The `command` job variable may be an argv array or one string. Workers start processes and
// containers without a shell (no injection through a job variable, the same argv on every pool),
// so a string is split the way a POSIX shell splits words, minus expansion of any kind.

export class CommandSyntaxError extends Error {
  override readonly name = "CommandSyntaxError";
}

/**
 * The argv for a resolved `command` variable: null/undefined stay null (use the worker's runner
 * command), an array is returned as is, a string is split on whitespace honouring '…', "…" and
 * backslash escapes. Throws CommandSyntaxError on an unterminated quote or a non-string item.
 */
export function commandArgv(command: unknown): string[] | null {
  if (command === null || command === undefined) return null;
  if (Array.isArray(command)) {
    if (!command.every((c): c is string => typeof c === "string"))
      throw new CommandSyntaxError("command array items must be strings");
    return [...command];
  }
  if (typeof command !== "string")
    throw new CommandSyntaxError(`command must be a string or an array of strings, got ${typeof command}`);
  const args: string[] = [];
  let current = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && i + 1 < command.length && '"\\$`'.includes(command[i + 1] as string))
        current += command[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\") {
      if (i + 1 < command.length) current += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) args.push(current);
      current = "";
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new CommandSyntaxError(`unterminated ${quote} quote in command: ${command}`);
  if (inWord) args.push(current);
  return args;
}
