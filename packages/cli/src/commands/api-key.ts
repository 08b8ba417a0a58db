import type { Command } from "commander";
import { connect, type GlobalOptions } from "../api.ts";
import { CliError, printJson, printTable } from "../output.ts";

const SCOPES = ["admin", "developer", "worker", "read"];

export function registerApiKey(program: Command): void {
  const keys = program.command("api-key").description("API keys: shown once, stored hashed");
  keys
    .command("create <name>")
    .description("create an API key (the key is printed once)")
    .option("--scope <scope>", "admin | developer | worker | read", "developer")
    .option("--expires-in <days>", "expire after this many days")
    .option("--json", "print the result as JSON")
    .action(async (name: string, opts: GlobalOptions & { scope: string; expiresIn?: string }) => {
      if (!SCOPES.includes(opts.scope))
        throw new CliError(`--scope ${JSON.stringify(opts.scope)}: expected one of ${SCOPES.join(", ")}`, 2);
      const days = opts.expiresIn === undefined ? undefined : Number(opts.expiresIn);
      if (days !== undefined && (!Number.isInteger(days) || days < 1))
        throw new CliError(`--expires-in ${JSON.stringify(opts.expiresIn)}: expected a whole number of days >= 1`, 2);
      const api = await connect(opts);
      const created = await api.apiKeys.create.mutate({
        name,
        scope: opts.scope.toUpperCase() as "ADMIN",
        ...(days ? { expiresInDays: days } : {}),
      });
      if (opts.json) printJson({ ...created.apiKey, key: created.key });
      else {
        process.stdout.write(`${created.key}\n`);
        process.stderr.write(
          `created ${created.apiKey.scope.toLowerCase()} key "${name}" (${created.apiKey.id}); copy it now, it is not shown again\n`,
        );
      }
    });
  keys
    .command("ls")
    .description("list API keys (never the keys themselves)")
    .option("--json", "print the result as JSON")
    .action(async (opts: GlobalOptions) => {
      const rows = await (await connect(opts)).apiKeys.list.query();
      if (opts.json) printJson(rows);
      else printTable(rows, ["id", "name", "prefix", "scope", "status", "expiresAt", "lastUsedAt", "createdAt"]);
    });
  keys
    .command("revoke <id>")
    .description("revoke an API key")
    .option("--json", "print the result as JSON")
    .action(async (id: string, opts: GlobalOptions) => {
      const row = await (await connect(opts)).apiKeys.revoke.mutate({ id });
      if (opts.json) printJson(row);
      else process.stdout.write(`revoked key "${row.name}" (${row.id})\n`);
    });
}
