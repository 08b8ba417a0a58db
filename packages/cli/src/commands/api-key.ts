import type { Command } from "commander";
import { dataCommand, oneOf, say, wholeNumber } from "../command.ts";
import { printTable } from "../output.ts";

const SCOPES = ["admin", "developer", "worker", "read"] as const;

export function registerApiKey(program: Command): void {
  const keys = program.command("api-key").description("API keys: shown once, stored hashed");
  dataCommand(
    keys
      .command("create <name>")
      .description("create an API key (the key is printed once)")
      .option("--scope <scope>", SCOPES.join(" | "), oneOf("--scope", SCOPES), "developer")
      .option(
        "--expires-in <days>",
        "expire after this many days",
        wholeNumber("--expires-in", { min: 1, unit: "days" }),
      ),
    {
      call: async (api, [name]: [string], opts: { scope: (typeof SCOPES)[number]; expiresIn?: number }) => {
        const created = await api.apiKeys.create.mutate({
          name,
          scope: opts.scope.toUpperCase() as Uppercase<typeof opts.scope>,
          ...(opts.expiresIn ? { expiresInDays: opts.expiresIn } : {}),
        });
        return { ...created.apiKey, key: created.key };
      },
      print: (key, [name]) => {
        say(key.key);
        process.stderr.write(
          `created ${key.scope.toLowerCase()} key "${name}" (${key.id}); copy it now, it is not shown again\n`,
        );
      },
    },
  );
  dataCommand(keys.command("ls").description("list API keys (never the keys themselves)"), {
    call: (api) => api.apiKeys.list.query(),
    print: (rows) =>
      printTable(rows, ["id", "name", "prefix", "scope", "status", "expiresAt", "lastUsedAt", "createdAt"]),
  });
  dataCommand(keys.command("revoke <id>").description("revoke an API key"), {
    call: (api, [id]: [string]) => api.apiKeys.revoke.mutate({ id }),
    print: (key) => say(`revoked key "${key.name}" (${key.id})`),
  });
}
