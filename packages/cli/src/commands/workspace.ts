import type { Command } from "commander";
import { readProfiles, resolveConnection, saveProfileKey, createApiClient } from "@flowplane/client";
import type { GlobalOptions } from "../api.ts";
import { dataCommand, say } from "../command.ts";
import { printJson, printTable } from "../output.ts";

export function registerWorkspace(program: Command): void {
  const ws = program.command("workspace").description("workspaces isolate flows, runs, pools and keys");
  dataCommand(
    ws.command("create <name>").description("create a workspace; its admin key is saved to the local profile"),
    {
      call: async (api, [name]: [string], opts) => {
        const created = await api.workspaces.create.mutate({ name });
        const conn = await resolveConnection({ workspace: opts.workspace ?? null });
        await saveProfileKey({ apiUrl: conn!.apiUrl, workspace: created.workspace.name, apiKey: created.apiKey });
        return { id: created.workspace.id, name: created.workspace.name, apiKeySavedToProfile: true };
      },
      print: (created) =>
        say(
          `created workspace "${created.name}"; its admin key is saved in the local profile (use --workspace ${created.name})`,
        ),
    },
  );
  ws.command("ls")
    .description("list the workspaces the local profile has keys for")
    .option("--json", "print the result as JSON")
    .action(async (opts: GlobalOptions) => {
      const file = await readProfiles();
      const profile = file?.profiles[file.active];
      const rows: { id: string | null; name: string; current: boolean; status: string }[] = [];
      for (const [name, apiKey] of Object.entries(profile?.apiKeys ?? {})) {
        try {
          const ws = await createApiClient({
            apiUrl: profile!.apiUrl,
            apiKey,
            workspace: name,
          }).workspaces.current.query();
          rows.push({ id: ws.id, name, current: name === profile!.workspace, status: "ok" });
        } catch (err) {
          rows.push({ id: null, name, current: name === profile!.workspace, status: (err as Error).message });
        }
      }
      if (opts.json) printJson(rows);
      else printTable(rows, ["name", "id", "current", "status"], "no workspaces in the local profile");
    });
}
