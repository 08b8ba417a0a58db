// `flowplane sso`: the organisation's single sign-on (OpenID Connect) settings (owners and admins).
import type { Command } from "commander";
import { dataCommand, oneOf, readStdin, say } from "../command.ts";
import { CliError, printFields } from "../output.ts";

/** The role people signing in for the first time get in the SSO workspace. */
const ROLES = ["viewer", "developer", "workspace-admin"] as const;
const ROLE_OF = { viewer: "VIEWER", developer: "DEVELOPER", "workspace-admin": "ADMIN" } as const;

const collectDomain = (value: string, previous: string[] = []) => [...previous, value];

export function registerSso(program: Command): void {
  const sso = program
    .command("sso")
    .description("single sign-on through your OpenID provider (organisation owners and admins)");
  dataCommand(
    sso
      .command("set")
      .description("set up or change single sign-on; register <server>/auth/sso/callback at the provider first")
      .requiredOption("--issuer <url>", "the provider's issuer URL (its /.well-known/openid-configuration is checked)")
      .requiredOption("--client-id <id>", "the client id the provider gave Flowplane")
      .option("--client-secret-stdin", "read the client secret from stdin (required the first time)")
      .requiredOption("--domain <domain>", "an email domain allowed to sign in (repeat for more)", collectDomain)
      .option("--sso-workspace <name>", "the workspace people join the first time (default: the current one)")
      .option("--default-role <role>", ROLES.join(" | "), oneOf("--default-role", ROLES), "viewer")
      .option("--require", "members must sign in through SSO (password sign-in is refused)"),
    {
      call: async (
        api,
        _args: [],
        opts: {
          issuer: string;
          clientId: string;
          clientSecretStdin?: boolean;
          domain: string[];
          ssoWorkspace?: string;
          defaultRole: (typeof ROLES)[number];
          require?: boolean;
        },
      ) => {
        const clientSecret = opts.clientSecretStdin ? await readStdin("the client secret") : undefined;
        if (opts.clientSecretStdin && !clientSecret) throw new CliError("--client-secret-stdin: stdin was empty", 2);
        const workspaceName = opts.ssoWorkspace ?? (await api.workspaces.current.query()).name;
        return api.sso.configure.mutate({
          issuer: opts.issuer,
          clientId: opts.clientId,
          ...(clientSecret ? { clientSecret } : {}),
          allowedDomains: opts.domain,
          workspaceName,
          defaultRole: ROLE_OF[opts.defaultRole],
          required: Boolean(opts.require),
        });
      },
      print: (view) => printFields({ ...view, allowedDomains: view.allowedDomains.join(", ") }),
    },
  );
  dataCommand(sso.command("show").description("show the single sign-on settings (never the client secret)"), {
    call: (api) => api.sso.get.query(),
    print: (view) =>
      view
        ? printFields({ ...view, allowedDomains: view.allowedDomains.join(", ") })
        : say("single sign-on is not set up"),
  });
  dataCommand(sso.command("rm").description("turn single sign-on off (members keep their accounts)"), {
    call: (api) => api.sso.remove.mutate(),
    print: (r) => say(r.removed ? "single sign-on is off" : "single sign-on was not set up"),
  });
}
