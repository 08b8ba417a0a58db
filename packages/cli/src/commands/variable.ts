import type { Command } from "commander";
import { connect, type GlobalOptions } from "../api.ts";
import type { ApiClient } from "@flowplane/client";
import { CliError, printJson, printTable } from "../output.ts";

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
      process.stdout.write(`set variable ${saved.name}\n`);
    });
  variables
    .command("get <name>")
    .description("print a variable's value (strings as is, other values as JSON)")
    .option("--json", "print the variable as JSON")
    .action(async (name: string, opts: GlobalOptions) => {
      const variable = await (await connect(opts)).variables.get.query({ name });
      if (opts.json) printJson(variable);
      else
        process.stdout.write(
          `${typeof variable.value === "string" ? variable.value : JSON.stringify(variable.value)}\n`,
        );
    });
  variables
    .command("ls")
    .description("list variables")
    .option("--json", "print the result as JSON")
    .action(async (opts: GlobalOptions) => {
      const rows = await (await connect(opts)).variables.list.query();
      if (opts.json) printJson(rows);
      else
        printTable(
          rows.map((r) => ({ name: r.name, value: r.value, updated: r.updatedAt })),
          ["name", "value", "updated"],
        );
    });
  variables
    .command("rm <name>")
    .description("delete a variable")
    .option("--json", "print the result as JSON")
    .action(async (name: string, opts: GlobalOptions) => {
      const result = await (await connect(opts)).variables.delete.mutate({ name });
      if (opts.json) printJson(result);
      else process.stdout.write(`deleted variable ${name}\n`);
    });
}
