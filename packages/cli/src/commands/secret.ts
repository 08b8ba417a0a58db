import type { Command } from "commander";
import { dataCommand, readFlagFile, readStdin, say } from "../command.ts";
import { CliError, printTable } from "../output.ts";

export function registerSecret(program: Command): void {
  const secrets = program
    .command("secret")
    .description("workspace secrets: encrypted at rest, read only by flow runs and workers");
  dataCommand(
    secrets
      .command("set <name>")
      .description("create or replace a secret; the value comes from stdin or --from-file, never from an argument")
      .option("--from-file <file>", "read the value from this file (as is)")
      .option(
        "--allow-deploy",
        "let `flowplane deploy` read it for build and push steps (workspace admins only; off by default)",
      )
      .option("--no-allow-deploy", "stop `flowplane deploy` from reading it (workspace admins only)")
      .option("--keep-value", "with --allow-deploy or --no-allow-deploy: change only that, not the value")
      .allowExcessArguments(true)
      .hook("preAction", (command) => {
        if (command.args.length > 1)
          throw new CliError(
            "secret values are never taken from arguments (shell history and process lists would keep them); pipe the value on stdin or use --from-file",
            2,
          );
      }),
    {
      call: async (api, [name]: [string], opts: { fromFile?: string; allowDeploy?: boolean; keepValue?: boolean }) => {
        if (opts.keepValue) {
          if (opts.allowDeploy === undefined)
            throw new CliError("--keep-value: give --allow-deploy or --no-allow-deploy (nothing else to change)", 2);
          if (opts.fromFile) throw new CliError("--keep-value: not with --from-file (the value is kept)", 2);
          return {
            created: false,
            secret: await api.secrets.setAllowDeploy.mutate({ name, allowDeploy: opts.allowDeploy }),
          };
        }
        const value = opts.fromFile
          ? await readFlagFile("--from-file", opts.fromFile)
          : await readStdin("the secret value");
        if (value === "")
          throw new CliError(`value: empty${opts.fromFile ? ` (--from-file ${opts.fromFile})` : " (stdin)"}`, 2);
        return api.secrets.set.mutate({
          name,
          value,
          ...(opts.allowDeploy !== undefined ? { allowDeploy: opts.allowDeploy } : {}),
        });
      },
      print: (result, _args, opts: { keepValue?: boolean; allowDeploy?: boolean }) =>
        say(
          `${opts.keepValue ? "kept" : result.created ? "created" : "updated"} secret ${result.secret.name}${
            opts.allowDeploy === undefined
              ? ""
              : result.secret.allowDeploy
                ? " (allowed at deploy)"
                : " (not allowed at deploy)"
          }`,
        ),
    },
  );
  dataCommand(secrets.command("ls").description("list secrets (names and metadata; values are never shown)"), {
    call: (api) => api.secrets.list.query(),
    print: (rows) =>
      printTable(
        rows.map((r) => ({
          name: r.name,
          created: r.createdAt,
          updated: r.updatedAt,
          "updated by": r.updatedBy?.name ?? null,
          "last read": r.lastReadAt,
          deploy: r.allowDeploy ? "allowed" : "-",
        })),
        ["name", "created", "updated", "updated by", "last read", "deploy"],
      ),
  });
  dataCommand(secrets.command("rm <name>").description("delete a secret"), {
    call: (api, [name]: [string]) => api.secrets.delete.mutate({ name }),
    print: (_result, [name]) => say(`deleted secret ${name}`),
  });
  dataCommand(
    secrets
      .command("rotate-master-key")
      .description(
        "re-wrap every data key with the server's current master key (FLOWPLANE_MASTER_KEY), so the keys in FLOWPLANE_MASTER_KEY_PREVIOUS can be dropped",
      ),
    {
      call: (api) => api.secrets.rotateMasterKey.mutate(),
      print: (r) =>
        say(`re-wrapped ${r.secrets} secrets and ${r.signingKeys} signing keys with master key ${r.masterKeyId}`),
    },
  );
}
