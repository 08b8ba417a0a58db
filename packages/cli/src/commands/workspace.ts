import type { Command } from "commander";
import { readProfiles, resolveConnection, saveProfileKey, createApiClient } from "@flowplane/client";
import { connect, type GlobalOptions } from "../api.ts";
import { printJson, printTable } from "../output.ts";

export function registerWorkspace(program: Command): void {
  const ws = program.command("workspace").description("workspaces isolate flows, runs, pools and keys");
  ws.command("create <name>")
    .description("create a workspace; its admin key is saved to the local profile")
    .option("--json", "print the result as JSON")
    .action(async (name: string, opts: GlobalOptions) => {
      const api = await connect(opts);
      const created = await api.workspaces.create.mutate({ name });
      const conn = await resolveConnection({ workspace: opts.workspace ?? null });
      await saveProfileKey({ apiUrl: conn!.apiUrl, workspace: created.workspace.name, apiKey: created.apiKey });
      if (opts.json) printJson({ id: created.workspace.id, name: created.workspace.name, apiKeySavedToProfile: true });
      else
        process.stdout.write(
          `created workspace "${created.workspace.name}"; its admin key is saved in the local profile (use --workspace ${created.workspace.name})\n`,
        );
    });
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
