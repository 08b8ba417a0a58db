import { hostname } from "node:os";
import type { Command } from "commander";
import { createApiClient, saveProfileKey, type ApiClient } from "@flowplane/client";
import { CliError, printJson } from "../output.ts";

/**
 * A person signs in from the terminal (device authorisation): the server gives a short code, the
 * person confirms it in the dashboard where they are signed in, and the CLI receives a new API key
 * bound to them (their role bounds it; removing them revokes it).
 */
async function deviceLogin(
  apiUrl: string,
): Promise<{ apiKey: string; workspace: string; email: string; scope: string }> {
  const anonymous: ApiClient = createApiClient({ apiUrl, apiKey: "", workspace: null });
  const start = await anonymous.auth.deviceStart.mutate({ clientName: `flowplane CLI on ${hostname()}` });
  const url = start.verificationUrl ?? `${apiUrl}${start.verificationPath}`;
  // stderr: with --json, stdout carries only the result.
  process.stderr.write(
    `To sign in, open ${url}\nand confirm the code ${start.userCode} (it expires at ${start.expiresAt}).\nWaiting for confirmation…\n`,
  );
  for (;;) {
    await new Promise((r) => setTimeout(r, start.intervalSeconds * 1000));
    const poll = await anonymous.auth.devicePoll.mutate({ deviceCode: start.deviceCode });
    if (poll.status === "approved") return poll;
    if (poll.status === "denied") throw new CliError("the sign-in was refused in the dashboard");
    if (poll.status === "expired")
      throw new CliError("the code expired before it was confirmed; run flowplane login again");
  }
}

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description("sign in: through the dashboard (a code to confirm), or with an API key (--key, for automation)")
    .requiredOption("--url <url>", "API URL, e.g. https://flowplane.example.com")
    .option("--key <key>", "API key (fp_...); without it, sign in as a person through the dashboard")
    .option("--json", "print the result as JSON")
    .action(async (opts: { url: string; key?: string; json?: boolean }) => {
      let url: URL;
      try {
        url = new URL(opts.url);
      } catch {
        throw new CliError(`--url ${JSON.stringify(opts.url)}: not a valid URL`, 2);
      }
      const apiUrl = url.toString().replace(/\/+$/, "");
      if (opts.key === undefined) {
        const done = await deviceLogin(apiUrl);
        await saveProfileKey({ apiUrl, workspace: done.workspace, apiKey: done.apiKey, makeDefaultWorkspace: true });
        if (opts.json) printJson({ apiUrl, workspace: done.workspace, scope: done.scope, email: done.email });
        else
          process.stdout.write(
            `logged in to ${apiUrl} as ${done.email} (${done.scope.toLowerCase()}) in workspace "${done.workspace}"\n`,
          );
        return;
      }
      const who = await createApiClient({ apiUrl, apiKey: opts.key, workspace: null }).auth.whoami.query();
      await saveProfileKey({ apiUrl, workspace: who.workspace.name, apiKey: opts.key, makeDefaultWorkspace: true });
      if (opts.json) printJson({ apiUrl, workspace: who.workspace.name, scope: who.scope });
      else
        process.stdout.write(
          `logged in to ${apiUrl} as a ${who.scope.toLowerCase()} key of workspace "${who.workspace.name}"\n`,
        );
    });
}
