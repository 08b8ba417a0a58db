// `flowplane member` and `flowplane user create`: people in the organisation and their roles, seen
// from the current workspace.
import type { Command } from "commander";
import { dataCommand, oneOf, readStdin, say } from "../command.ts";
import { CliError, printTable } from "../output.ts";

/** owner/admin: organisation roles; workspace-admin/developer/viewer: roles in the current workspace. */
const ROLES = ["owner", "admin", "workspace-admin", "developer", "viewer"] as const;
type Role = (typeof ROLES)[number];
const role = (flag: string) => oneOf(flag, ROLES, (v) => v.toLowerCase());

export function registerMember(program: Command): void {
  const members = program
    .command("member")
    .description("members of the organisation and their roles (owner, admin, workspace-admin, developer, viewer)");
  dataCommand(
    members
      .command("invite <email>")
      .description("invite someone by email with a role (the link is mailed, or printed when the server has no SMTP)")
      .requiredOption("--role <role>", ROLES.join(" | "), role("--role")),
    {
      call: (api, [email]: [string], opts: { role: Role }) => api.members.invite.mutate({ email, role: opts.role }),
      print: (inv) => {
        if (inv.link) {
          say(inv.link);
          process.stderr.write(
            `invited ${inv.email} as ${inv.role}; the server sends no mail, so pass this link on (it works once, until ${inv.expiresAt})\n`,
          );
        } else say(`invited ${inv.email} as ${inv.role}; the invitation was mailed (valid until ${inv.expiresAt})`);
      },
    },
  );
  dataCommand(members.command("ls").description("list members and pending invitations, newest first"), {
    call: (api) => api.members.list.query(),
    print: (rows) => printTable(rows, ["email", "role", "status", "name", "since"]),
  });
  dataCommand(members.command("set-role <email> <role>").description(`change a member's role (${ROLES.join(", ")})`), {
    call: (api, [email, r]: [string, string]) => api.members.setRole.mutate({ email, role: role("ROLE")(r) }),
    print: (m) => say(`${m.email} is now ${m.role}`),
  });
  dataCommand(
    members
      .command("remove <email>")
      .description("remove a member from the organisation: their sign-ins end and their keys are revoked at once"),
    {
      call: (api, [email]: [string]) => api.members.remove.mutate({ email }),
      print: (m) => say(`removed ${m.email} (${m.revokedKeys} API keys revoked, signed out everywhere)`),
    },
  );

  const users = program.command("user").description("user accounts (for servers without mail)");
  dataCommand(
    users
      .command("create <email>")
      .description("create a user with a password and a role (admins only); the password comes from stdin")
      .requiredOption("--role <role>", ROLES.join(" | "), role("--role"))
      .option("--password-stdin", "read the password from stdin (required: passwords are never arguments)")
      .option("--name <name>", "the person's name"),
    {
      call: async (api, [email]: [string], opts: { role: Role; passwordStdin?: boolean; name?: string }) => {
        if (!opts.passwordStdin)
          throw new CliError(
            "--password-stdin: required; pipe the password on stdin (arguments end up in shell history and process lists)",
            2,
          );
        const password = await readStdin("the password");
        if (!password) throw new CliError("--password-stdin: stdin was empty", 2);
        return api.members.createUser.mutate({
          email,
          role: opts.role,
          password,
          ...(opts.name ? { name: opts.name } : {}),
        });
      },
      print: (u) => say(`created user ${u.email} as ${u.role}; they can sign in to the dashboard now`),
    },
  );
}
