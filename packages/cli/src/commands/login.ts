import type { Command } from "commander";
import { createApiClient, saveProfileKey } from "@flowplane/client";
import { CliError, printJson } from "../output.ts";

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description("save an API URL and key in the local profile")
    .requiredOption("--url <url>", "API URL, e.g. https://flowplane.example.com")
    .requiredOption("--key <key>", "API key (fp_...)")
    .option("--json", "print the result as JSON")
    .action(async (opts: { url: string; key: string; json?: boolean }) => {
      let url: URL;
      try {
        url = new URL(opts.url);
      } catch {
        throw new CliError(`--url ${JSON.stringify(opts.url)}: not a valid URL`, 2);
      }
      const apiUrl = url.toString().replace(/\/+$/, "");
      const who = await createApiClient({ apiUrl, apiKey: opts.key, workspace: null }).auth.whoami.query();
      await saveProfileKey({ apiUrl, workspace: who.workspace.name, apiKey: opts.key, makeDefaultWorkspace: true });
      if (opts.json) printJson({ apiUrl, workspace: who.workspace.name, scope: who.scope });
      else
        process.stdout.write(
          `logged in to ${apiUrl} as a ${who.scope.toLowerCase()} key of workspace "${who.workspace.name}"\n`,
        );
    });
}
