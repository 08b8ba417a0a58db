// The `ecs` pool: each run is an ECS task started with RunTask and watched with DescribeTasks.
//
// Credentials and region come from the AWS SDK's default chain (env, profile, container or instance
// role); the job's `region` overrides the region. Without a task_definition_arn the worker registers
// a task definition from the job's image, cpu, memory and roles, in a family named after a hash of
// that content, so identical jobs share one definition and a changed image gets a new family rather
// than a new revision that other runs would pick up.
//
// Output: a registered task definition sends the container's output to CloudWatch Logs (awslogs,
// group /flowplane/flow-runs, stream flowplane/<container>/<task id>) when it has an execution role
// to write with. With stream_output the worker follows that stream (or the one a given task
// definition's awslogs configuration names) from the task's start until it stops, into the run's
// logs, as the docker pool copies a container's output; the runner is then told its output is
// streamed, so prints the SDK records are not echoed into the stream a second time.
//
// Production conditions (issue 19): RunTask capacity failures, throttling, 5xx and expired
// credentials are retried with backoff for a bounded time (`retryForMs`), under one client token
// so a retried RunTask never starts a second task; a task that has not reached RUNNING within the
// job's `start_timeout_seconds` (shorter than the server's claim timeout) is stopped and the run ends
// with ECS's stop reason; a task DescribeTasks cannot see for `lostAfterMs` is given up only while the runner
// is silent too, and is then stopped.
import { createHash, randomUUID } from "node:crypto";
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type CapacityProviderStrategyItem,
  type Compatibility,
  type LaunchType,
  type RegisterTaskDefinitionCommandInput,
  type RunTaskCommandInput,
  type Task,
  type TaskStopCode,
} from "@aws-sdk/client-ecs";
import { awsMessage, transientAwsError } from "./aws.ts";
import type { LogStreamFollower, LogStreamLocation } from "./cloudwatch-logs.ts";
import { JobConfiguration, sleep } from "./job-configuration.ts";
import { causeOf, FailingLooks, retryCall, waitUntilStopped } from "./retry.ts";
import {
  InfrastructureError,
  type ExitResult,
  type FoundJob,
  type Infrastructure,
  type JobSpec,
  type RunningJob,
} from "./types.ts";

export interface EcsInfrastructureOptions {
  /** ECS endpoint URL (a VPC endpoint, or a test's fake); default: the SDK's resolution. */
  endpoint?: string;
  /** How often DescribeTasks is called while a task runs (default 5 s). */
  pollIntervalMs?: number;
  /**
   * How long a task may take to reach RUNNING before it is stopped when the job sets no
   * start_timeout_seconds (default 240 s: below the server's 300 s claim timeout, which the worker
   * also extends while the task provisions).
   */
  startTimeoutMs?: number;
  /** How long throttling, capacity failures, 5xx and expired credentials are retried (default 120 s). */
  retryForMs?: number;
  /** First retry delay (default 500 ms; doubled per attempt up to 10 s, with jitter). */
  retryDelayMs?: number;
  /** How long DescribeTasks may fail before the task counts as lost, if its runner is silent (default 120 s). */
  lostAfterMs?: number;
  /** How long a stop waits for the task to reach STOPPED before it reports failure (default 180 s). */
  stopWaitMs?: number;
  /** CloudWatch Logs endpoint URL for stream_output; default: the SDK's resolution. */
  logsEndpoint?: string;
  /**
   * How long the log stream is still read after the task stopped (default 10 s): awslogs delivers a
   * container's last lines after it exits.
   */
  logDrainMs?: number;
}

/** Where CloudWatch Logs keeps the output of tasks from registered task definitions. */
export const ECS_LOG_GROUP = "/flowplane/flow-runs";
export const ECS_LOG_STREAM_PREFIX = "flowplane";
/** awslogs' stream name for a task's container: `prefix/container-name/task-id`. */
export function awslogsStreamName(prefix: string, containerName: string, taskArn: string): string {
  return `${prefix}/${containerName}/${taskArn.slice(taskArn.lastIndexOf("/") + 1)}`;
}

/** ECS's limit on the JSON of a RunTask's overrides. */
const MAX_OVERRIDES_CHARS = 8_192;

const LAUNCH_TYPES = ["FARGATE", "EC2", "EXTERNAL"] as const satisfies readonly LaunchType[];

export interface EcsJobSettings {
  region: string | null;
  /** RunTask's idempotency token: one per submission, kept across its retries. */
  clientToken: string;
  cluster: string | null;
  containerName: string;
  /** Set when the job names its task definition; otherwise `register` says what to register. */
  taskDefinitionArn: string | null;
  register: RegisterTaskDefinitionCommandInput | null;
  streamOutput: boolean;
  /** The job's start_timeout_seconds, in ms; null: the pool's default. */
  startTimeoutMs: number | null;
  /** RunTask's input, without taskDefinition (known once registered). */
  runTask: Omit<RunTaskCommandInput, "taskDefinition">;
}

/** The ECS requests for a job (pure: no AWS calls). */
export function ecsJobSettings(job: JobSpec): EcsJobSettings {
  const config = new JobConfiguration(job.configuration);
  const containerName = config.string("container_name", "flowplane");
  const strategy = capacityProviderStrategy(config.raw("capacity_provider_strategy"));
  const launchType = config.oneOf("launch_type", LAUNCH_TYPES, "FARGATE");
  const taskDefinitionArn = config.optionalString("task_definition_arn");
  const subnets = config.stringList("subnets");
  const securityGroups = config.stringList("security_groups");
  const command = config.command();
  const env = { ...config.stringMap("env"), ...job.env };
  const userTags = config.stringMap("tags");
  checkTags(userTags);
  const tags = { ...userTags, ...job.labels };
  const cluster = config.optionalString("cluster");
  const region = config.optionalString("region");
  const assignPublicIp = config.boolean("assign_public_ip", false);
  const fargate = strategy
    ? strategy.every((s) => s.capacityProvider?.startsWith("FARGATE"))
    : launchType === "FARGATE";
  // What ECS would refuse, refused before RunTask with the job variable to change.
  if ((fargate || !taskDefinitionArn) && subnets.length === 0)
    throw new InfrastructureError(
      `job variable "subnets": ${fargate ? "Fargate tasks" : "the task definitions the worker registers"} use awsvpc networking, which needs at least one subnet`,
    );
  if (!strategy && launchType === "EXTERNAL" && !taskDefinitionArn)
    throw new InfrastructureError(
      `job variable "launch_type": EXTERNAL does not support the awsvpc network mode of the task definitions the worker registers; give a task_definition_arn or use FARGATE or EC2`,
    );
  if (assignPublicIp && !fargate)
    throw new InfrastructureError(
      `job variable "assign_public_ip": ECS assigns public IPs only to Fargate tasks; with ${strategy ? "this capacity provider strategy" : `launch type ${launchType}`} use a public subnet's own setting or a NAT gateway`,
    );

  let register: RegisterTaskDefinitionCommandInput | null = null;
  if (!taskDefinitionArn) {
    const prefix = config.string("family_prefix", "flowplane");
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(prefix))
      throw new InfrastructureError(
        `job configuration "family_prefix": expected letters, digits, "-" and "_" (at most 200), got ${JSON.stringify(prefix)}`,
      );
    const executionRoleArn = config.optionalString("execution_role_arn");
    const taskRoleArn = config.optionalString("task_role_arn");
    const compatibility: Compatibility = strategy
      ? strategy.every((s) => s.capacityProvider?.startsWith("FARGATE"))
        ? "FARGATE"
        : "EC2"
      : launchType;
    const content = {
      containerDefinitions: [
        {
          name: containerName,
          image: config.string("image"),
          essential: true,
          // The execution role writes the output to CloudWatch Logs; without one ECS refuses awslogs.
          ...(executionRoleArn ? { logConfiguration: awslogs(region) } : {}),
        },
      ],
      cpu: config.optionalText("cpu") ?? "1024",
      memory: config.optionalText("memory") ?? "2048",
      networkMode: "awsvpc" as const,
      requiresCompatibilities: [compatibility],
      ...(executionRoleArn ? { executionRoleArn } : {}),
      ...(taskRoleArn ? { taskRoleArn } : {}),
    };
    register = { family: `${prefix}-${contentHash(content)}`, ...content };
  }

  const overrides = {
    containerOverrides: [
      {
        name: containerName,
        environment: Object.entries(env).map(([name, value]) => ({ name, value })),
        ...(command ? { command } : {}),
      },
    ],
  };
  const overridesLength = JSON.stringify(overrides).length;
  if (overridesLength > MAX_OVERRIDES_CHARS) {
    // The deployment's pull steps travel in the environment too (the image's runner runs them).
    const pullSteps = job.env["FLOWPLANE_PULL_STEPS"]?.length ?? 0;
    throw new InfrastructureError(
      `job variables "env" and "command"${pullSteps ? ` with the deployment's pull steps (FLOWPLANE_PULL_STEPS: ${pullSteps.toLocaleString("en")} characters)` : ""}: the task's container overrides are ${overridesLength.toLocaleString("en")} characters; ECS accepts at most ${MAX_OVERRIDES_CHARS.toLocaleString("en")} (put large values in the image, a secret or a file${pullSteps ? "; pull steps: fewer or shorter steps, or deliver the code in an image with docker_build" : ""})`,
    );
  }

  return {
    region,
    clientToken: randomUUID(),
    cluster,
    containerName,
    taskDefinitionArn,
    register,
    streamOutput: config.boolean("stream_output", false),
    startTimeoutMs: config.optionalSecondsAsMs("start_timeout_seconds"),
    runTask: {
      ...(cluster ? { cluster } : {}),
      ...(strategy ? { capacityProviderStrategy: strategy } : { launchType }),
      ...(subnets.length
        ? {
            networkConfiguration: {
              awsvpcConfiguration: {
                subnets,
                ...(securityGroups.length ? { securityGroups } : {}),
                assignPublicIp: assignPublicIp ? "ENABLED" : "DISABLED",
              },
            },
          }
        : {}),
      overrides,
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      startedBy: "flowplane",
    },
  };
}

/**
 * The awslogs configuration of registered task definitions. Without a region in the job, the
 * awslogs driver uses the task's own region.
 */
function awslogs(region: string | null) {
  return {
    logDriver: "awslogs" as const,
    options: {
      "awslogs-group": ECS_LOG_GROUP,
      "awslogs-stream-prefix": ECS_LOG_STREAM_PREFIX,
      "awslogs-create-group": "true",
      ...(region ? { "awslogs-region": region } : {}),
    },
  };
}

/** ECS's tag rules (the worker's own tags are added after, within them), naming the job variable. */
function checkTags(tags: Record<string, string>): void {
  const allowed = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
  const entries = Object.entries(tags);
  // 50 per resource, two of them the worker's own.
  if (entries.length > 48)
    throw new InfrastructureError(
      `job variable "tags": ${entries.length} tags; ECS allows 50 per task, 2 of them Flowplane's`,
    );
  for (const [key, value] of entries) {
    const problem =
      key.length < 1 || key.length > 128
        ? "keys are 1 to 128 characters"
        : value.length > 256
          ? "values are at most 256 characters"
          : /^aws:/i.test(key)
            ? 'the "aws:" prefix is reserved'
            : !allowed.test(key) || !allowed.test(value)
              ? "letters, digits, spaces and _ . : / = + - @ only"
              : null;
    if (problem)
      throw new InfrastructureError(
        `job variable "tags": tag ${JSON.stringify(key)} is not valid for ECS (${problem})`,
      );
  }
}

function capacityProviderStrategy(value: unknown): CapacityProviderStrategyItem[] | null {
  if (value === null || value === undefined) return null;
  const fail = (): never => {
    throw new InfrastructureError(
      `job configuration "capacity_provider_strategy": expected a list of {capacityProvider, weight?, base?}, got ${JSON.stringify(value)}`,
    );
  };
  if (!Array.isArray(value) || value.length === 0) fail();
  return (value as unknown[]).map((item) => {
    const i = item as Record<string, unknown>;
    // Prefect-style snake_case keys are accepted too.
    const provider = i?.["capacityProvider"] ?? i?.["capacity_provider"];
    const weight = i?.["weight"];
    const base = i?.["base"];
    if (typeof provider !== "string" || !provider) fail();
    if (weight !== undefined && typeof weight !== "number") fail();
    if (base !== undefined && typeof base !== "number") fail();
    return {
      capacityProvider: provider as string,
      ...(weight !== undefined ? { weight: weight as number } : {}),
      ...(base !== undefined ? { base: base as number } : {}),
    };
  });
}

/** A stable hash of JSON content (object keys sorted), 16 hex digits. */
export function contentHash(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === "object")
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return createHash("sha256")
    .update(JSON.stringify(canonical(value)))
    .digest("hex")
    .slice(0, 16);
}

/** How a STOPPED task ended, in the worker's terms. */
export function ecsExitResult(task: Task, containerName: string, stopped: boolean): ExitResult {
  const container = task.containers?.find((c) => c.name === containerName) ?? task.containers?.[0];
  const exitCode = container?.exitCode ?? null;
  const why = [task.stoppedReason, container?.reason].filter(Boolean).join(": ");
  if (/OutOfMemoryError/i.test(container?.reason ?? "") || /OutOfMemoryError/i.test(task.stoppedReason ?? ""))
    return { exitCode, reason: "OOMKilled", stopped };
  const code = task.stopCode as TaskStopCode | undefined;
  switch (code) {
    case "EssentialContainerExited":
      return {
        exitCode,
        reason:
          exitCode !== null
            ? `exited with code ${exitCode}`
            : `essential container exited: ${why || "no reason given"}`,
        stopped,
      };
    case "TaskFailedToStart":
      return { exitCode, reason: `task failed to start: ${why || "no reason given"}`, stopped };
    case "UserInitiated":
      return { exitCode, reason: `task stopped: ${task.stoppedReason ?? "by a user"}`, stopped };
    case "ServiceSchedulerInitiated":
    case "SpotInterruption":
    case "TerminationNotice":
    case "InfrastructureHealth":
    case undefined:
      return { exitCode, reason: `task stopped (${code ?? "no stop code"}): ${why || "no reason given"}`, stopped };
    default: {
      const unknown: never = code;
      return { exitCode, reason: `task stopped (${String(unknown)}): ${why || "no reason given"}`, stopped };
    }
  }
}

/** RunTask `failures` that pass: no capacity, resources or agent for now (ECS says: try again later). */
function transientRunTaskFailure(reason: string): boolean {
  return /capacity|^RESOURCE:|^AGENT$|throttl/i.test(reason);
}

/** Region and cluster of a task ARN (arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID). */
function taskLocation(arn: string): { region: string | null; cluster: string | undefined } {
  const m = /^arn:[^:]+:ecs:([^:]*):[^:]*:task\/(?:([^/]+)\/)?[^/]+$/.exec(arn);
  if (!m) throw new InfrastructureError(`infrastructure id ${JSON.stringify(arn)} is not an ECS task ARN`);
  return { region: m[1] || null, cluster: m[2] };
}

export class EcsInfrastructure implements Infrastructure {
  readonly type = "ecs" as const;
  private readonly clients = new Map<string, ECSClient>();
  /** Registered task definitions by region and family, so a worker describes each one once. */
  private readonly taskDefinitions = new Map<string, string>();
  private readonly pollIntervalMs: number;
  private readonly startTimeoutMs: number;
  private readonly retryForMs: number;
  private readonly retryDelayMs: number;
  private readonly lostAfterMs: number;
  private readonly stopWaitMs: number;
  private readonly logDrainMs: number;

  constructor(private readonly options: EcsInfrastructureOptions = {}) {
    this.pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 240_000;
    this.retryForMs = options.retryForMs ?? 120_000;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.lostAfterMs = options.lostAfterMs ?? 120_000;
    this.stopWaitMs = options.stopWaitMs ?? 180_000;
    this.logDrainMs = options.logDrainMs ?? 10_000;
  }

  private client(region: string | null): ECSClient {
    const key = region ?? "";
    let client = this.clients.get(key);
    if (!client) {
      client = new ECSClient({
        ...(region ? { region } : {}),
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
        // One retry policy (retrying()), bounded in time and told to the run, rather than the
        // SDK's three quick attempts under it.
        maxAttempts: 1,
      });
      this.clients.set(key, client);
    }
    return client;
  }

  /** `call` retried while its errors pass, for retryForMs; each retry is told to `onEvent`. */
  private retrying<T>(what: string, call: () => Promise<T>, onEvent?: (message: string) => void): Promise<T> {
    return retryCall(
      { transient: transientAwsError, forMs: this.retryForMs, initialDelayMs: this.retryDelayMs, describe: awsMessage },
      what,
      call,
      onEvent,
    );
  }

  async submit(job: JobSpec): Promise<RunningJob> {
    const settings = ecsJobSettings(job);
    const ecs = this.client(settings.region);
    const clusterName = settings.cluster ?? "default";
    const taskDefinition =
      settings.taskDefinitionArn ?? (await this.taskDefinitionFor(ecs, settings.region, settings.register!, job));
    let started: Task;
    try {
      started = await this.retrying(
        `ECS RunTask on cluster "${clusterName}"`,
        async () => {
          // The same client token on every attempt: if an attempt started a task but its answer was
          // lost, ECS answers the retry with that task instead of starting another.
          const out = await ecs.send(
            new RunTaskCommand({ ...settings.runTask, taskDefinition, clientToken: settings.clientToken }),
          );
          const failure = out.failures?.[0];
          if (failure || !out.tasks?.[0]?.taskArn) {
            const what = failure
              ? `${failure.reason ?? "unknown failure"}${failure.detail ? ` (${failure.detail})` : ""}${failure.arn ? ` for ${failure.arn}` : ""}`
              : "RunTask returned no task";
            throw new InfrastructureError(
              `ECS could not start a task on cluster "${clusterName}": ${what}`,
              transientRunTaskFailure(failure?.reason ?? ""),
            );
          }
          return out.tasks[0];
        },
        job.onEvent,
      );
    } catch (err) {
      const { cause, retried } = causeOf(err);
      if (cause instanceof InfrastructureError)
        throw new InfrastructureError(`${cause.message}${retried}`, cause.transient);
      if (cause instanceof ECSServiceException && cause.name === "ClusterNotFoundException")
        throw new InfrastructureError(`ECS cluster "${clusterName}" not found (${awsMessage(cause)})`);
      throw new InfrastructureError(
        `ECS RunTask on cluster "${clusterName}" failed: ${awsMessage(cause)}${retried}`,
        transientAwsError(cause),
      );
    }
    const taskArn = started.taskArn!;
    // The task's cluster ARN, so a null (default) cluster is addressed exactly as ECS placed it.
    const cluster = started.clusterArn ?? settings.cluster ?? undefined;
    let stopRequested = false;
    let output: Promise<LogStreamFollower | null> | null = null;
    const seen = (task: Task) => {
      // From the task's start: the stream exists only once its container runs.
      if (settings.streamOutput && !output && (task.lastStatus === "RUNNING" || task.startedAt))
        // Output is a convenience: a follower that cannot start never ends the run.
        output = this.followOutput(ecs, settings, taskDefinition, taskArn, job).catch((err: unknown) => {
          job.onEvent?.(`stream_output: could not follow the task's output: ${awsMessage(err)}`);
          return null;
        });
    };
    const exited = this.watch(ecs, cluster, taskArn, settings, job, () => stopRequested, seen).then(async (result) => {
      const follower = await output;
      if (follower) {
        // Ended: its last lines are drained before the run settles. Lost: nothing more will come.
        if (result.lost) follower.abort();
        else follower.ended();
        await follower.done;
      }
      return result;
    });
    return {
      id: taskArn,
      exited,
      stop: async () => {
        // ECS sends SIGTERM, then SIGKILL after the container's stopTimeout: the grace is the task
        // definition's, not the worker's.
        stopRequested = true;
        await this.stopTask(ecs, cluster, taskArn, "Flowplane: flow run cancelled");
        await exited;
      },
    };
  }

  /** StopTask, retried while transient; a task ECS no longer knows counts as stopped. */
  private async stopTask(ecs: ECSClient, cluster: string | undefined, taskArn: string, reason: string): Promise<void> {
    try {
      await this.retrying(`ECS StopTask ${taskArn}`, () =>
        ecs.send(new StopTaskCommand({ ...(cluster ? { cluster } : {}), task: taskArn, reason })),
      );
    } catch (err) {
      const { cause } = causeOf(err);
      if (cause instanceof ECSServiceException && /not found/i.test(cause.message)) return;
      throw new InfrastructureError(
        `could not stop ECS task ${taskArn}: ${awsMessage(cause)}`,
        transientAwsError(cause),
      );
    }
  }

  async stop(id: string): Promise<void> {
    const { region, cluster } = taskLocation(id);
    const ecs = this.client(region);
    await this.stopTask(ecs, cluster, id, "Flowplane: flow run cancelled");
    // Cancelled only once ECS says the task has stopped: a run must not read CANCELLED while its
    // task still runs.
    await waitUntilStopped(
      () => this.describe(ecs, cluster, id).catch(() => undefined),
      (task) => task === null || task?.lastStatus === "STOPPED",
      {
        forMs: this.stopWaitMs,
        intervalMs: this.pollIntervalMs,
        stillRunning: (task, seconds) =>
          `ECS task ${id} was asked to stop but is still ${task?.lastStatus ?? "not described"} after ${seconds} s`,
      },
    );
  }

  /** The task, null when ECS no longer knows it (MISSING); throws on errors. */
  private async describe(ecs: ECSClient, cluster: string | undefined, taskArn: string): Promise<Task | null> {
    const out = await ecs.send(new DescribeTasksCommand({ ...(cluster ? { cluster } : {}), tasks: [taskArn] }));
    const task = out.tasks?.find((t) => t.taskArn === taskArn);
    if (task) return task;
    const failure = out.failures?.[0];
    if (failure?.reason === "MISSING") return null;
    throw new InfrastructureError(
      failure
        ? `${failure.reason ?? "unknown"}${failure.detail ? ` (${failure.detail})` : ""}`
        : "DescribeTasks returned no task",
      true,
    );
  }

  async jobLocation(
    of: { configuration: Record<string, unknown> } | { id: string },
  ): Promise<{ region: string; cluster: string }> {
    let region: string | null;
    let cluster: string | undefined;
    if ("id" in of) ({ region, cluster } = taskLocation(of.id));
    else {
      const config = new JobConfiguration(of.configuration);
      region = config.optionalString("region");
      cluster = config.optionalString("cluster")?.replace(/^arn:[^:]+:ecs:[^:]*:[^:]*:cluster\//, "");
    }
    // The chain's region and ECS's default cluster spelled out, so a template without them and a
    // task ARN in the same place are one location.
    return { region: region ?? (await this.client(null).config.region()), cluster: cluster ?? "default" };
  }

  async findJobs(labels: Record<string, string>, configuration: Record<string, unknown>): Promise<FoundJob[]> {
    const config = new JobConfiguration(configuration);
    const ecs = this.client(config.optionalString("region"));
    const cluster = config.optionalString("cluster") ?? undefined;
    const arns: string[] = [];
    let nextToken: string | undefined;
    // Tags cannot filter ListTasks: list what Flowplane started (running or not yet stopped), then
    // read the tags with DescribeTasks.
    do {
      const page = await this.retrying("ECS ListTasks", () =>
        ecs.send(
          new ListTasksCommand({
            ...(cluster ? { cluster } : {}),
            startedBy: "flowplane",
            ...(nextToken ? { nextToken } : {}),
          }),
        ),
      );
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const found: FoundJob[] = [];
    for (let i = 0; i < arns.length; i += 100) {
      const out = await this.retrying("ECS DescribeTasks", () =>
        ecs.send(
          new DescribeTasksCommand({
            ...(cluster ? { cluster } : {}),
            tasks: arns.slice(i, i + 100),
            include: ["TAGS"],
          }),
        ),
      );
      for (const task of out.tasks ?? []) {
        const tags = Object.fromEntries((task.tags ?? []).map((t) => [t.key, t.value]));
        if (!Object.entries(labels).every(([k, v]) => tags[k] === v)) continue;
        found.push({
          id: task.taskArn!,
          flowRunId: tags["flowplane.run-id"] ?? null,
          finished: task.lastStatus === "STOPPED" || task.desiredStatus === "STOPPED",
        });
      }
    }
    return found;
  }

  private async taskDefinitionFor(
    ecs: ECSClient,
    region: string | null,
    input: RegisterTaskDefinitionCommandInput,
    job: JobSpec,
  ): Promise<string> {
    const family = input.family!;
    const key = `${region ?? ""}/${family}`;
    const cached = this.taskDefinitions.get(key);
    if (cached) return cached;
    let arn: string | undefined;
    try {
      // The family name carries the content hash: its latest ACTIVE revision has this content.
      const found = await this.retrying(
        `ECS DescribeTaskDefinition ${family}`,
        () => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family })),
        job.onEvent,
      );
      if (found.taskDefinition?.status === "ACTIVE") arn = found.taskDefinition.taskDefinitionArn;
    } catch (err) {
      const { cause } = causeOf(err);
      if (!(cause instanceof ECSServiceException && cause.name === "ClientException")) {
        throw new InfrastructureError(
          `could not look up ECS task definition family "${family}": ${awsMessage(cause)}`,
          transientAwsError(cause),
        );
      }
    }
    if (!arn) {
      try {
        const registered = await this.retrying(
          `ECS RegisterTaskDefinition ${family}`,
          () => ecs.send(new RegisterTaskDefinitionCommand(input)),
          job.onEvent,
        );
        arn = registered.taskDefinition?.taskDefinitionArn;
      } catch (err) {
        const { cause } = causeOf(err);
        throw new InfrastructureError(
          `could not register ECS task definition "${family}" for image "${input.containerDefinitions?.[0]?.image}": ${awsMessage(cause)}`,
          transientAwsError(cause),
        );
      }
      if (!arn) throw new InfrastructureError(`ECS registered task definition "${family}" but returned no ARN`);
    }
    this.taskDefinitions.set(key, arn);
    return arn;
  }

  /**
   * Where the task's container writes its output: the awslogs configuration the worker registered,
   * or the given task definition's. Null, said once on the run, when that is not a CloudWatch Logs
   * stream the worker can name (no awslogs, or no stream prefix: the stream is then named after the
   * container's id).
   */
  private async logStreamOf(
    ecs: ECSClient,
    settings: EcsJobSettings,
    taskDefinition: string,
    taskArn: string,
    job: JobSpec,
  ): Promise<LogStreamLocation | null> {
    let container = settings.register?.containerDefinitions?.[0];
    if (!settings.register) {
      try {
        const found = await this.retrying(
          `ECS DescribeTaskDefinition ${taskDefinition}`,
          () => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition })),
          job.onEvent,
        );
        container = found.taskDefinition?.containerDefinitions?.find((c) => c.name === settings.containerName);
      } catch (err) {
        job.onEvent?.(
          `stream_output: could not read task definition ${taskDefinition}: ${awsMessage(causeOf(err).cause)}`,
        );
        return null;
      }
    }
    const options =
      container?.logConfiguration?.logDriver === "awslogs" ? container.logConfiguration.options : undefined;
    const group = options?.["awslogs-group"];
    const prefix = options?.["awslogs-stream-prefix"];
    if (!group || !prefix) {
      job.onEvent?.(
        settings.register
          ? `stream_output: the task's output is not copied: without an execution_role_arn ECS cannot send it to CloudWatch Logs`
          : `stream_output: the task's output is not copied: container "${settings.containerName}" of ${taskDefinition} has no awslogs log configuration with an awslogs-stream-prefix`,
      );
      return null;
    }
    return {
      region: options["awslogs-region"] ?? settings.region,
      group,
      stream: awslogsStreamName(prefix, settings.containerName, taskArn),
    };
  }

  /** Follows the task's log stream into the run's output (null when there is none to follow). */
  private async followOutput(
    ecs: ECSClient,
    settings: EcsJobSettings,
    taskDefinition: string,
    taskArn: string,
    job: JobSpec,
  ): Promise<LogStreamFollower | null> {
    const location = await this.logStreamOf(ecs, settings, taskDefinition, taskArn, job);
    if (!location) return null;
    // Loaded only for jobs that stream their output.
    const { followLogStream } = await import("./cloudwatch-logs.ts");
    return followLogStream(
      location,
      (line) => job.onOutput(line, "stdout"),
      (message) => job.onEvent?.(message),
      {
        ...(this.options.logsEndpoint ? { endpoint: this.options.logsEndpoint } : {}),
        pollIntervalMs: this.pollIntervalMs,
        retryForMs: this.retryForMs,
        retryDelayMs: this.retryDelayMs,
        drainMs: this.logDrainMs,
      },
    );
  }

  /** Watches the task until it stops; `seen` is shown every answer DescribeTasks gives. */
  private async watch(
    ecs: ECSClient,
    cluster: string | undefined,
    taskArn: string,
    settings: EcsJobSettings,
    job: JobSpec,
    stopRequested: () => boolean,
    seen: (task: Task) => void,
  ): Promise<ExitResult> {
    const startTimeoutMs = settings.startTimeoutMs ?? this.startTimeoutMs;
    const startDeadline = Date.now() + startTimeoutMs;
    let started = false;
    let timedOut: string | null = null;
    const failing = new FailingLooks(this.lostAfterMs);
    for (;;) {
      await sleep(this.pollIntervalMs);
      let task: Task | null;
      try {
        task = await this.describe(ecs, cluster, taskArn);
        failing.succeeded();
      } catch (err) {
        // Throttling, a 5xx, a network blip: the task is fine, only our view of it is not.
        const lastError = awsMessage(err);
        if (await failing.keepWatching(job, "ECS DescribeTasks", lastError)) continue;
        // Given up: what was launched is stopped, so it cannot run on behind the orchestrator's back.
        await this.stopTask(ecs, cluster, taskArn, "Flowplane: the worker lost track of this task").catch(() => {});
        return {
          exitCode: null,
          reason: `lost track of ECS task ${taskArn}: ${lastError}`,
          stopped: stopRequested(),
          lost: true,
        };
      }
      if (task === null)
        return {
          exitCode: null,
          reason: `ECS task ${taskArn} disappeared (MISSING)`,
          stopped: stopRequested(),
          lost: true,
        };
      seen(task);
      if (task.lastStatus === "STOPPED") {
        const result = ecsExitResult(task, settings.containerName, stopRequested());
        return timedOut ? { ...result, reason: `${timedOut}; ${result.reason}` } : result;
      }
      if (task.lastStatus === "RUNNING") started = true;
      if (!started && !timedOut && Date.now() > startDeadline) {
        timedOut = `ECS task did not reach RUNNING within ${startTimeoutMs / 1000} s (last status ${task.lastStatus ?? "unknown"})`;
        job.onEvent?.(`${timedOut}; stopping it`);
        await this.stopTask(ecs, cluster, taskArn, `Flowplane: ${timedOut}`).catch((err: unknown) =>
          job.onEvent?.(`could not stop ECS task ${taskArn}: ${awsMessage(err)}`),
        );
      }
    }
  }
}
