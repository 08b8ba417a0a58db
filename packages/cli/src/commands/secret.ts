import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { connect, type GlobalOptions } from "../api.ts";
import { CliError, printJson, printTable } from "../output.ts";

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("enter the secret value, then Ctrl-D:\n");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // `echo value | flowplane secret set X` adds a newline nobody means to store.
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

export function registerSecret(program: Command): void {
  const secrets = program
    .command("secret")
    .description("workspace secrets: encrypted at rest, read only by flow runs and workers");
  secrets
    .command("set <name>")
    .description("create or replace a secret; the value comes from stdin or --from-file, never from an argument")
    .option("--from-file <file>", "read the value from this file (as is)")
    .option("--json", "print the result as JSON")
    .allowExcessArguments(true)
    .action(async (name: string, opts: GlobalOptions & { fromFile?: string }, command: Command) => {
      if (command.args.length > 1)
        throw new CliError(
          "secret values are never taken from arguments (shell history and process lists would keep them); pipe the value on stdin or use --from-file",
          2,
        );
      const value = opts.fromFile
        ? await readFile(opts.fromFile, "utf8").catch((err: Error) => {
            throw new CliError(`--from-file ${opts.fromFile}: ${err.message}`, 2);
          })
        : await readStdin();
      if (value === "")
        throw new CliError(`value: empty${opts.fromFile ? ` (--from-file ${opts.fromFile})` : " (stdin)"}`, 2);
      const result = await (await connect(opts)).secrets.set.mutate({ name, value });
      if (opts.json) printJson(result);
      else process.stdout.write(`${result.created ? "created" : "updated"} secret ${result.secret.name}\n`);
    });
  secrets
    .command("ls")
    .description("list secrets (names and metadata; values are never shown)")
    .option("--json", "print the result as JSON")
    .action(async (opts: GlobalOptions) => {
      const rows = await (await connect(opts)).secrets.list.query();
      if (opts.json) printJson(rows);
      else
        printTable(
          rows.map((r) => ({
            name: r.name,
            created: r.createdAt,
            updated: r.updatedAt,
            "updated by": r.updatedBy?.name ?? null,
            "last read": r.lastReadAt,
          })),
          ["name", "created", "updated", "updated by", "last read"],
        );
    });
  secrets
    .command("rm <name>")
    .description("delete a secret")
    .option("--json", "print the result as JSON")
    .action(async (name: string, opts: GlobalOptions) => {
      const result = await (await connect(opts)).secrets.delete.mutate({ name });
      if (opts.json) printJson(result);
      else process.stdout.write(`deleted secret ${name}\n`);
    });
  secrets
    .command("rotate-master-key")
    .description(
      "re-wrap every data key with the server's current master key (FLOWPLANE_MASTER_KEY), so the keys in FLOWPLANE_MASTER_KEY_PREVIOUS can be dropped",
    )
    .option("--json", "print the result as JSON")
    .action(async (opts: GlobalOptions) => {
      const result = await (await connect(opts)).secrets.rotateMasterKey.mutate();
      if (opts.json) printJson(result);
      else
        process.stdout.write(
          `re-wrapped ${result.secrets} secrets and ${result.signingKeys} signing keys with master key ${result.masterKeyId}\n`,
        );
    });
}
