import type { Command } from "commander";
import { connect, type GlobalOptions } from "../api.ts";
import type { ApiClient } from "@flowplane/client";
import { dataCommand, say } from "../command.ts";
import { CliError, printTable } from "../output.ts";

type VariableValue = Parameters<ApiClient["variables"]["set"]["mutate"]>[0]["value"];

export function registerVariable(program: Command): void {
  const variables = program.command("variable").description("workspace variables: named JSON values for configuration");
  variables
    .command("set <name> [value]")
    .description("create or replace a variable: VALUE is stored as a string, --json JSON as JSON")
    .option("--json <json>", "the value as JSON (object, array, number, boolean or string)")
    .action(async (name: string, text: string | undefined, opts: Omit<GlobalOptions, "json"> & { json?: string }) => {
      if ((text === undefined) === (opts.json === undefined))
        throw new CliError("value: give either VALUE or --json JSON", 2);
      let value: VariableValue = text ?? "";
      if (opts.json !== undefined) {
        try {
          value = JSON.parse(opts.json) as VariableValue;
        } catch (err) {
          throw new CliError(`--json: not valid JSON (${(err as Error).message})`, 2);
        }
      }
      const api = await connect(opts.workspace ? { workspace: opts.workspace } : {});
      const saved = await api.variables.set.mutate({ name, value });
      say(`set variable ${saved.name}`);
    });
  dataCommand(
    variables.command("get <name>").description("print a variable's value (strings as is, other values as JSON)"),
    {
      call: (api, [name]: [string]) => api.variables.get.query({ name }),
      print: (variable) => say(typeof variable.value === "string" ? variable.value : JSON.stringify(variable.value)),
    },
  );
  dataCommand(variables.command("ls").description("list variables"), {
    call: (api) => api.variables.list.query(),
    print: (rows) =>
      printTable(
        rows.map((r) => ({ name: r.name, value: r.value, updated: r.updatedAt })),
        ["name", "value", "updated"],
      ),
  });
  dataCommand(variables.command("rm <name>").description("delete a variable"), {
    call: (api, [name]: [string]) => api.variables.delete.mutate({ name }),
    print: (_result, [name]) => say(`deleted variable ${name}`),
  });
}
