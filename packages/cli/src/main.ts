#!/usr/bin/env node
// `flowplane`: the command line for the control plane, workers and deployments.
import { Command, Option } from "commander";
import { reportAndExit } from "./output.ts";
import { registerApiKey } from "./commands/api-key.ts";
import { registerAudit } from "./commands/audit.ts";
import { registerSso } from "./commands/sso.ts";
import { registerFlowRun } from "./commands/flow-run.ts";
import { registerLogin } from "./commands/login.ts";
import { registerMember } from "./commands/member.ts";
import { registerServer } from "./commands/server.ts";
import { registerWorkPool } from "./commands/work-pool.ts";
import { registerSecret } from "./commands/secret.ts";
import { registerVariable } from "./commands/variable.ts";
import { registerWorkspace } from "./commands/workspace.ts";
import { registerWorker } from "./commands/worker.ts";
import { registerDeploy } from "./commands/deploy.ts";
import { registerDeployment } from "./commands/deployment.ts";
import { cliVersion } from "./version.ts";

export function buildProgram(): Command {
  const program = new Command("flowplane")
    .description("Flowplane: orchestrate TypeScript workflows on your own infrastructure")
    .version(cliVersion)
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ sortSubcommands: true });
  registerServer(program);
  registerLogin(program);
  registerWorkspace(program);
  registerApiKey(program);
  registerMember(program);
  registerWorkPool(program);
  registerSecret(program);
  registerVariable(program);
  registerFlowRun(program);
  registerWorker(program);
  registerDeploy(program);
  registerDeployment(program);
  registerAudit(program);
  registerSso(program);
  // Every command takes --workspace.
  const visit = (cmd: Command) => {
    if (cmd.commands.length === 0 && cmd !== program)
      cmd.addOption(new Option("--workspace <name>", "workspace to act in (default: the profile's)"));
    cmd.commands.forEach(visit);
  };
  visit(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  reportAndExit(err);
}
