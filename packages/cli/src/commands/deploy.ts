import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { Redactor, SECRET_NAME_RE, validateSchedule, type ScheduleSpec } from "@flowplane/core";
import { flowplaneHome, readDeployValues, type ApiClient } from "@flowplane/client";
import type { Delivery, Phase, StepContext, StepSpec, StepsResult } from "@flowplane/steps";
import { connect, type GlobalOptions } from "../api.ts";
import { CliError, collect, parseKeyValues, printJson, progress } from "../output.ts";

/** One deployment as written in flowplane.yaml (snake_case) or assembled from flags. */
interface DeploymentEntry {
  name?: string;
  entrypoint?: string;
  pool?: string;
  queue?: string;
  description?: string;
  tags?: string[];
  parameters?: Record<string, unknown>;
  job_variables?: Record<string, unknown>;
  /** Secrets the flow's code asks for by name (getSecret); a run reads no others it does not reference. */
  secrets?: unknown;
  schedules?: {
    cron?: string;
    interval?: number;
    anchor_date?: string;
    rrule?: string;
    timezone?: string;
    active?: boolean;
    parameters?: Record<string, unknown>;
  }[];
  concurrency_limit?: number;
  collision_strategy?: "enqueue" | "cancel-new";
  catchup?: boolean;
  paused?: boolean;
  build?: unknown;
  push?: unknown;
  pull?: unknown;
}

/** A deployment's build, push and pull steps, checked (null pull: none written, the default applies). */
interface DeploymentSteps {
  build: StepSpec[];
  push: StepSpec[];
  pull: StepSpec[] | null;
}

interface DeployFlags extends GlobalOptions {
  name?: string;
  pool?: string;
  cron?: string;
  timezone?: string;
  interval?: string;
  param: string[];
  jobVar: string[];
  secret: string[];
  all?: boolean;
  file: string;
}

const KNOWN_KEYS = new Set([
  "name",
  "entrypoint",
  "pool",
  "queue",
  "description",
  "tags",
  "parameters",
  "job_variables",
  "secrets",
  "schedules",
  "concurrency_limit",
  "collision_strategy",
  "catchup",
  "paused",
  "build",
  "push",
  "pull",
]);

const PHASES: Phase[] = ["build", "push", "pull"];

export function registerDeploy(program: Command): void {
  program
    .command("deploy [entrypoint]")
    .description("register deployments: PATH:EXPORT with flags, or the deployments in flowplane.yaml")
    .option("--name <name>", "deployment name (default: the flow's name); with flowplane.yaml, deploy only this one")
    .option("--pool <name>", "work pool that runs it")
    .option("--cron <expr>", "cron schedule (5 or 6 fields)")
    .option("--timezone <tz>", "IANA time zone of --cron", "UTC")
    .option("--interval <seconds>", "interval schedule in seconds")
    .option("--param <k=v>", "default parameter (repeatable)", collect, [])
    .option(
      "--job-var <k=v>",
      "job variable for the pool's template (repeatable; env.KEY=value sets one env var)",
      collect,
      [],
    )
    .option(
      "--secret <name>",
      "a secret the flow's code reads with getSecret (repeatable); a run may read no others it does not reference",
      collect,
      [],
    )
    .option("--all", "deploy every deployment in flowplane.yaml")
    .option("--file <path>", "deployments file", "flowplane.yaml")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  flowplane deploy flows/etl.ts:etl --name nightly --pool local --cron '0 2 * * *' --timezone Europe/Berlin\n  flowplane deploy            # everything in ./flowplane.yaml\n",
    )
    .action(async (entrypoint: string | undefined, flags: DeployFlags) => {
      // Every secret value build and push steps read (`{{ secret.X }}`, and credentials from the
      // environment) is registered here as it is resolved: it stays in this process's memory, is
      // replaced by *** in everything deploy prints, and refused in what it would store.
      const redactor = new Redactor();
      try {
        await deploy(entrypoint, flags, redactor);
      } catch (err) {
        if (err instanceof CliError) throw new CliError(redactor.text(err.message), err.exitCode);
        if (err instanceof Error) err.message = redactor.text(err.message);
        throw err;
      }
    });
}

async function deploy(entrypoint: string | undefined, flags: DeployFlags, redactor: Redactor): Promise<void> {
  const say = (line: string) => progress(redactor.text(line));
  const { entries, baseDir, source } = await collectEntries(entrypoint, flags);
  // Everything is checked before anything is built or written: a bad entry leaves the server
  // untouched.
  const checked = [];
  for (const [i, entry] of entries.entries()) {
    const where =
      source === "flags"
        ? ""
        : `${source} deployments[${i}]${entry.deployment.name ? ` (${entry.deployment.name})` : ""}: `;
    checked.push({ ...(await prepare(entry.deployment, baseDir, where)), steps: entry.steps, where });
  }
  // Connected once, when build and push need secrets or variables, or to write the deployments.
  let connection: Promise<ApiClient> | undefined;
  const api = () => (connection ??= connect(flags));
  // Then build and push (once for deployments sharing the same steps), and settle delivery.
  const shipped = new Map<string, Promise<StepsResult>>();
  // The values read from the secret store, which a deployment must never store. Narrower than
  // `redactor`, which also hides credentials given as {{ env.NAME }} from what deploy prints: a
  // pull step may rightly store the same text as a literal (an access key id equal to its secret).
  const fromSecretStore = new Redactor();
  const shipping = (steps: DeploymentSteps) => JSON.stringify([steps.build, steps.push]);
  const prepared = [];
  for (const { steps, where, ...p } of checked) {
    // The deployments these build and push steps are run for, named in the secret reads and the audit log.
    const deploymentNames = checked
      .filter((c) => shipping(c.steps) === shipping(steps))
      .map((c) => `${c.flowName}/${c.name}`);
    const resolveNamed: StepContext["resolveNamed"] = async (refs, asking) => {
      const got = await readDeployValues(await api(), {
        deploymentNames,
        steps: asking.steps.map((s) => ({
          phase: asking.phase === "build" ? "build" : "push",
          index: s.index,
          step: s.name,
          id: s.id,
          names: s.secrets,
        })),
        variables: refs.variables,
      });
      for (const value of Object.values(got.secrets)) fromSecretStore.add(value);
      return got;
    };
    const delivery = await deliver(p.jobVariables, steps, baseDir, where, shipped, { resolveNamed, redactor, say });
    const deployment = {
      ...p,
      path: delivery.path,
      pullSteps: delivery.pullSteps as Record<string, unknown>[] | null,
      codeVersion: delivery.codeVersion,
      jobVariables: delivery.jobVariables,
    };
    refuseSecretValues(deployment, fromSecretStore, where);
    prepared.push(deployment);
  }
  const results = [];
  for (const p of prepared) {
    if (!flags.json) say(`deploying ${p.flowName}/${p.name} ...`);
    const r = await (await api()).deployments.upsert.mutate(p);
    results.push({
      deployment: `${p.flowName}/${p.name}`,
      deploymentId: r.deploymentId,
      version: r.version,
      created: r.created,
      changed: r.changed,
      codeVersion: p.codeVersion,
    });
    if (!flags.json) {
      const what = r.created
        ? `created (version ${r.version})`
        : r.changed.length
          ? `updated to version ${r.version}: ${r.changed.join(", ")} changed`
          : `unchanged (version ${r.version})`;
      process.stdout.write(redactor.text(`${p.flowName}/${p.name}: ${what}\n`));
    }
  }
  if (flags.json) printJson(redactor.deep(results));
}

/**
 * A deployment stores references, never secret values: a build or push output derived from a
 * `{{ secret.X }}` (an image named after it, say) would reach its job variables or pull steps, so
 * deploy stops before writing anything, naming the field (not the value).
 */
function refuseSecretValues(deployment: Record<string, unknown>, secretValues: Redactor, where: string): void {
  if (secretValues.empty) return;
  const carrying = (value: unknown, at: string): string | null => {
    if (typeof value === "string") return secretValues.text(value) === value ? null : at;
    if (value === null || typeof value !== "object") return null;
    for (const [k, v] of Object.entries(value)) {
      const found = carrying(k, at) ?? carrying(v, Array.isArray(value) ? `${at}[${k}]` : at ? `${at}.${k}` : k);
      if (found) return found;
    }
    return null;
  };
  const field = carrying(deployment, "");
  if (field)
    throw new CliError(
      `${where}${field}: would store a secret's value (an output of a build or push step that used it); deployments keep only {{ secret.NAME }} references, so nothing was deployed`,
      2,
    );
}

async function collectEntries(
  entrypoint: string | undefined,
  flags: DeployFlags,
): Promise<{ entries: { deployment: DeploymentEntry; steps: DeploymentSteps }[]; baseDir: string; source: string }> {
  if (entrypoint) {
    const schedules: NonNullable<DeploymentEntry["schedules"]> = [];
    if (flags.cron) schedules.push({ cron: flags.cron, timezone: flags.timezone ?? "UTC" });
    if (flags.interval !== undefined) {
      const seconds = Number(flags.interval);
      if (!Number.isFinite(seconds) || seconds <= 0)
        throw new CliError(`--interval ${JSON.stringify(flags.interval)}: expected a number of seconds > 0`, 2);
      schedules.push({ interval: seconds, ...(flags.timezone ? { timezone: flags.timezone } : {}) });
    }
    return {
      entries: [
        {
          deployment: {
            entrypoint,
            ...(flags.name ? { name: flags.name } : {}),
            ...(flags.pool ? { pool: flags.pool } : {}),
            parameters: parseKeyValues(flags.param, "--param"),
            job_variables: parseKeyValues(flags.jobVar, "--job-var"),
            secrets: flags.secret,
            schedules,
          },
          steps: { build: [], push: [], pull: null },
        },
      ],
      baseDir: process.cwd(),
      source: "flags",
    };
  }
  const file = path.resolve(flags.file);
  const text = await readFile(file, "utf8").catch(() => {
    throw new CliError(
      `no entrypoint given and ${flags.file} not found; run \`flowplane deploy PATH:EXPORT --pool NAME\` or write a flowplane.yaml`,
      2,
    );
  });
  let doc: unknown;
  try {
    // Loaded when used, like the SDK below: every CLI start would pay for them otherwise.
    const { parse: parseYaml } = await import("yaml");
    doc = parseYaml(text);
  } catch (err) {
    throw new CliError(`${flags.file}: invalid YAML: ${(err as Error).message}`, 2);
  }
  const list = (doc as { deployments?: unknown })?.deployments;
  if (!Array.isArray(list) || list.length === 0)
    throw new CliError(`${flags.file}: expected a non-empty \`deployments:\` list`, 2);
  (list as unknown[]).forEach((e, i) => {
    if (!e || typeof e !== "object") throw new CliError(`${flags.file} deployments[${i}]: expected a mapping`, 2);
    const unknown = Object.keys(e).filter((k) => !KNOWN_KEYS.has(k));
    if (unknown.length)
      throw new CliError(
        `${flags.file} deployments[${i}].${unknown[0]}: unknown field (known: ${[...KNOWN_KEYS].join(", ")})`,
        2,
      );
  });
  const { parseStepList, StepSpecError } = await import("@flowplane/steps");
  const top = doc as Partial<Record<Phase, unknown>>;
  let entries = (list as DeploymentEntry[]).map((deployment, i) => {
    // A deployment's own list replaces the top-level one of the same phase. Outputs of earlier
    // phases are visible to later ones (push uses build's, pull uses both).
    const outputs = new Map<string, readonly string[]>();
    const lists = {} as Record<Phase, StepSpec[] | null>;
    for (const phase of PHASES) {
      const own = deployment[phase] !== undefined;
      const raw = own ? deployment[phase] : top[phase];
      try {
        lists[phase] =
          raw === undefined ? null : parseStepList(raw, phase, own ? `deployments[${i}].${phase}` : phase, outputs);
      } catch (err) {
        if (err instanceof StepSpecError) throw new CliError(`${flags.file} ${err.message}`, 2);
        throw err;
      }
    }
    return { deployment, steps: { build: lists.build ?? [], push: lists.push ?? [], pull: lists.pull } };
  });
  if (flags.name && !flags.all) {
    entries = entries.filter((e) => e.deployment.name === flags.name);
    if (entries.length === 0)
      throw new CliError(`--name ${JSON.stringify(flags.name)}: no deployment with that name in ${flags.file}`, 2);
  }
  // Flags given alongside the file override each entry.
  const overrides = {
    params: parseKeyValues(flags.param, "--param"),
    jobVars: parseKeyValues(flags.jobVar, "--job-var"),
  };
  entries = entries.map(({ deployment: e, steps }) => ({
    deployment: {
      ...e,
      ...(flags.pool ? { pool: flags.pool } : {}),
      parameters: { ...(e.parameters ?? {}), ...overrides.params },
      job_variables: { ...(e.job_variables ?? {}), ...overrides.jobVars },
      ...(flags.secret.length > 0
        ? { secrets: [...(Array.isArray(e.secrets) ? e.secrets : []), ...flags.secret] }
        : {}),
    },
    steps,
  }));
  return { entries, baseDir: path.dirname(file), source: flags.file };
}

async function prepare(entry: DeploymentEntry, baseDir: string, where: string) {
  if (!entry.entrypoint) throw new CliError(`${where}entrypoint: required (PATH:EXPORT)`, 2);
  let flowFn;
  try {
    const { loadFlow } = await import("@flowplane/sdk/runner");
    flowFn = await loadFlow(entry.entrypoint, baseDir);
  } catch (err) {
    throw new CliError(`${where}${(err as Error).message}`, 2);
  }
  const parameters = entry.parameters ?? {};
  const schema = flowFn.options.parameters as
    | {
        safeParse?: (v: unknown) => {
          success: boolean;
          error?: { issues: { path: PropertyKey[]; message: string }[] };
        };
      }
    | undefined;
  if (schema?.safeParse) {
    // Defaults need not be complete (a run may add parameters), so only check the fields given.
    const partial = (schema as unknown as { partial?: () => typeof schema }).partial?.() ?? schema;
    const parsed = partial.safeParse!(parameters);
    if (!parsed.success) {
      const issue = parsed.error!.issues[0]!;
      throw new CliError(`${where}parameters.${issue.path.map(String).join(".")}: ${issue.message}`, 2);
    }
  }
  const schedules: (ScheduleSpec & { active?: boolean; parameters?: Record<string, unknown> })[] = [];
  for (const [i, s] of (entry.schedules ?? []).entries()) {
    const spec =
      s.cron !== undefined
        ? { kind: "cron", cron: s.cron, timezone: s.timezone }
        : s.interval !== undefined
          ? { kind: "interval", intervalSeconds: s.interval, anchorDate: s.anchor_date, timezone: s.timezone }
          : s.rrule !== undefined
            ? { kind: "rrule", rrule: s.rrule, timezone: s.timezone }
            : null;
    if (!spec) throw new CliError(`${where}schedules[${i}]: give cron, interval or rrule`, 2);
    const checked = validateSchedule(JSON.parse(JSON.stringify(spec)));
    if (!checked.ok)
      throw new CliError(`${where}schedules[${i}].${checked.errors[0]?.path ?? ""}: ${checked.errors[0]?.message}`, 2);
    schedules.push({
      ...checked.spec,
      ...(s.active !== undefined ? { active: s.active } : {}),
      ...(s.parameters ? { parameters: s.parameters } : {}),
    });
  }
  const secrets = declaredSecrets(entry.secrets, where);
  const strategy = entry.collision_strategy;
  if (strategy !== undefined && strategy !== "enqueue" && strategy !== "cancel-new")
    throw new CliError(`${where}collision_strategy: expected enqueue or cancel-new`, 2);
  return {
    flowName: flowFn.options.name,
    name: entry.name ?? flowFn.options.name,
    entrypoint: entry.entrypoint,
    path: baseDir,
    description: entry.description ?? flowFn.options.description ?? null,
    workPoolName: entry.pool ?? null,
    workQueueName: entry.queue ?? null,
    parameters,
    parameterSchema: (flowFn.parameterJsonSchema() ?? null) as Record<string, unknown> | null,
    jobVariables: entry.job_variables ?? {},
    secrets,
    tags: entry.tags ?? [],
    concurrencyLimit: entry.concurrency_limit ?? null,
    ...(strategy
      ? { collisionStrategy: strategy === "cancel-new" ? ("CANCEL_NEW" as const) : ("ENQUEUE" as const) }
      : {}),
    ...(entry.catchup !== undefined ? { catchup: entry.catchup } : {}),
    ...(entry.paused !== undefined ? { paused: entry.paused } : {}),
    schedules,
  };
}

/** The `secrets:` list (or --secret flags), checked: names as `flowplane secret set` takes them. */
function declaredSecrets(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  const field = where ? `${where}secrets` : "--secret";
  if (!Array.isArray(value)) throw new CliError(`${field}: expected a list of secret names`, 2);
  return value.map((name, i) => {
    if (typeof name !== "string" || !SECRET_NAME_RE.test(name))
      throw new CliError(
        `${where ? `${field}[${i}]` : field} ${JSON.stringify(name)}: use letters, digits and '_', starting with a letter or '_'`,
        2,
      );
    return name;
  });
}

/** Runs build and push, and settles what the deployment stores to get its code to workers. */
async function deliver(
  jobVariables: Record<string, unknown>,
  steps: DeploymentSteps,
  baseDir: string,
  where: string,
  shipped: Map<string, Promise<StepsResult>>,
  secrets: { resolveNamed: StepContext["resolveNamed"]; redactor: Redactor; say: (line: string) => void },
): Promise<Delivery> {
  const { prepareDelivery, StepFailedError } = await import("@flowplane/steps");
  let delivery: Delivery;
  try {
    delivery = await prepareDelivery(
      {
        baseDir,
        ...steps,
        jobVariables,
        env: process.env,
        home: flowplaneHome(),
        // Step output goes to stderr, with --json too: a failing build must show why. The steps
        // redact their own lines with the same redactor.
        log: (line) => secrets.say(`  ${line}`),
        ...(secrets.resolveNamed ? { resolveNamed: secrets.resolveNamed } : {}),
        redactor: secrets.redactor,
      },
      shipped,
    );
  } catch (err) {
    if (err instanceof StepFailedError) throw new CliError(`${where}${err.message}`, 1);
    throw new CliError(`${where}${(err as Error).message}`, 2);
  }
  // On stderr, so `--json` keeps stdout to its document.
  for (const note of delivery.notes) secrets.say(`${where}${note}`);
  for (const warning of delivery.warnings) secrets.say(`${where}warning: ${warning}`);
  return delivery;
}
