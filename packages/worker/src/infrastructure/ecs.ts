// The `ecs` pool: each run is an ECS task started with RunTask and watched with DescribeTasks.
//
// Credentials and region come from the AWS SDK's default chain (env, profile, container or instance
// role); the job's `region` overrides the region. Without a task_definition_arn the worker registers
// a task definition from the job's image, cpu, memory and roles, in a family named after a hash of
// that content, so identical jobs share one definition and a changed image gets a new family rather
// than a new revision that other runs would pick up.
//
// Output: the task's stdout/stderr are not copied (stream_output is noted once in the run's logs):
// reading them means CloudWatch Logs, an awslogs configuration and more IAM permissions, while the
// flow run's own logs reach the API directly from the runner.
import { createHash } from "node:crypto";
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
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
import { JobConfiguration, sleep } from "./job-configuration.ts";
import { InfrastructureError, type ExitResult, type Infrastructure, type JobSpec, type RunningJob } from "./types.ts";

export interface EcsInfrastructureOptions {
  /** ECS endpoint URL (a VPC endpoint, or a test's fake); default: the SDK's resolution. */
  endpoint?: string;
  /** How often DescribeTasks is called while a task runs (default 5 s). */
  pollIntervalMs?: number;
  /** Consecutive failed DescribeTasks calls after which the task counts as lost (default 12). */
  maxWatchErrors?: number;
}

const LAUNCH_TYPES = ["FARGATE", "EC2", "EXTERNAL"] as const satisfies readonly LaunchType[];

export interface EcsJobSettings {
  region: string | null;
  cluster: string | null;
  containerName: string;
  /** Set when the job names its task definition; otherwise `register` says what to register. */
  taskDefinitionArn: string | null;
  register: RegisterTaskDefinitionCommandInput | null;
  streamOutput: boolean;
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
  const tags = { ...config.stringMap("tags"), ...job.labels };
  const cluster = config.optionalString("cluster");

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
      containerDefinitions: [{ name: containerName, image: config.string("image"), essential: true }],
      cpu: config.optionalText("cpu") ?? "1024",
      memory: config.optionalText("memory") ?? "2048",
      networkMode: "awsvpc" as const,
      requiresCompatibilities: [compatibility],
      ...(executionRoleArn ? { executionRoleArn } : {}),
      ...(taskRoleArn ? { taskRoleArn } : {}),
    };
    register = { family: `${prefix}-${contentHash(content)}`, ...content };
  }

  return {
    region: config.optionalString("region"),
    cluster,
    containerName,
    taskDefinitionArn,
    register,
    streamOutput: config.boolean("stream_output", false),
    runTask: {
      ...(cluster ? { cluster } : {}),
      ...(strategy ? { capacityProviderStrategy: strategy } : { launchType }),
      ...(subnets.length
        ? {
            networkConfiguration: {
              awsvpcConfiguration: {
                subnets,
                ...(securityGroups.length ? { securityGroups } : {}),
                assignPublicIp: config.boolean("assign_public_ip", false) ? "ENABLED" : "DISABLED",
              },
            },
          }
        : {}),
      overrides: {
        containerOverrides: [
          {
            name: containerName,
            environment: Object.entries(env).map(([name, value]) => ({ name, value })),
            ...(command ? { command } : {}),
          },
        ],
      },
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      startedBy: "flowplane",
    },
  };
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

function awsMessage(err: unknown): string {
  if (err instanceof ECSServiceException) return `${err.name}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export class EcsInfrastructure implements Infrastructure {
  readonly type = "ecs" as const;
  private readonly clients = new Map<string, ECSClient>();
  /** Registered task definitions by region and family, so a worker describes each one once. */
  private readonly taskDefinitions = new Map<string, string>();
  private readonly pollIntervalMs: number;
  private readonly maxWatchErrors: number;

  constructor(private readonly options: EcsInfrastructureOptions = {}) {
    this.pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.maxWatchErrors = options.maxWatchErrors ?? 12;
  }

  private client(region: string | null): ECSClient {
    const key = region ?? "";
    let client = this.clients.get(key);
    if (!client) {
      client = new ECSClient({
        ...(region ? { region } : {}),
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
      });
      this.clients.set(key, client);
    }
    return client;
  }

  async submit(job: JobSpec): Promise<RunningJob> {
    const settings = ecsJobSettings(job);
    const ecs = this.client(settings.region);
    const clusterName = settings.cluster ?? "default";
    const taskDefinition =
      settings.taskDefinitionArn ?? (await this.taskDefinitionFor(ecs, settings.region, settings.register!));
    let started: Task;
    try {
      const out = await ecs.send(new RunTaskCommand({ ...settings.runTask, taskDefinition }));
      const failure = out.failures?.[0];
      if (failure || !out.tasks?.[0]?.taskArn) {
        const what = failure
          ? `${failure.reason ?? "unknown failure"}${failure.detail ? ` (${failure.detail})` : ""}${failure.arn ? ` for ${failure.arn}` : ""}`
          : "RunTask returned no task";
        throw new InfrastructureError(`ECS could not start a task on cluster "${clusterName}": ${what}`);
      }
      started = out.tasks[0];
    } catch (err) {
      if (err instanceof InfrastructureError) throw err;
      if (err instanceof ECSServiceException && err.name === "ClusterNotFoundException")
        throw new InfrastructureError(`ECS cluster "${clusterName}" not found (${awsMessage(err)})`);
      throw new InfrastructureError(`ECS RunTask on cluster "${clusterName}" failed: ${awsMessage(err)}`);
    }
    if (settings.streamOutput)
      job.onOutput(
        "stream_output: this worker does not copy ECS task output (CloudWatch Logs); the flow run's own logs are recorded as usual",
        "stderr",
      );

    const taskArn = started.taskArn!;
    // The task's cluster ARN, so a null (default) cluster is addressed exactly as ECS placed it.
    const cluster = started.clusterArn ?? settings.cluster ?? undefined;
    let stopRequested = false;
    const exited = this.watch(ecs, cluster, taskArn, settings.containerName, () => stopRequested);
    return {
      id: taskArn,
      exited,
      async stop() {
        // ECS sends SIGTERM, then SIGKILL after the container's stopTimeout: the grace is the task
        // definition's, not the worker's.
        stopRequested = true;
        try {
          await ecs.send(
            new StopTaskCommand({
              ...(cluster ? { cluster } : {}),
              task: taskArn,
              reason: "Flowplane: flow run cancelled",
            }),
          );
        } catch {
          // Already stopped or gone; the watch reports how it ended.
        }
        await exited;
      },
    };
  }

  private async taskDefinitionFor(
    ecs: ECSClient,
    region: string | null,
    input: RegisterTaskDefinitionCommandInput,
  ): Promise<string> {
    const family = input.family!;
    const key = `${region ?? ""}/${family}`;
    const cached = this.taskDefinitions.get(key);
    if (cached) return cached;
    let arn: string | undefined;
    try {
      // The family name carries the content hash: its latest ACTIVE revision has this content.
      const found = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }));
      if (found.taskDefinition?.status === "ACTIVE") arn = found.taskDefinition.taskDefinitionArn;
    } catch (err) {
      if (!(err instanceof ECSServiceException && err.name === "ClientException")) {
        throw new InfrastructureError(`could not look up ECS task definition family "${family}": ${awsMessage(err)}`);
      }
    }
    if (!arn) {
      try {
        const registered = await ecs.send(new RegisterTaskDefinitionCommand(input));
        arn = registered.taskDefinition?.taskDefinitionArn;
      } catch (err) {
        throw new InfrastructureError(
          `could not register ECS task definition "${family}" for image "${input.containerDefinitions?.[0]?.image}": ${awsMessage(err)}`,
        );
      }
      if (!arn) throw new InfrastructureError(`ECS registered task definition "${family}" but returned no ARN`);
    }
    this.taskDefinitions.set(key, arn);
    return arn;
  }

  private async watch(
    ecs: ECSClient,
    cluster: string | undefined,
    taskArn: string,
    containerName: string,
    stopRequested: () => boolean,
  ): Promise<ExitResult> {
    let errors = 0;
    let lastError = "";
    for (;;) {
      await sleep(this.pollIntervalMs);
      try {
        const out = await ecs.send(new DescribeTasksCommand({ ...(cluster ? { cluster } : {}), tasks: [taskArn] }));
        const task = out.tasks?.find((t) => t.taskArn === taskArn);
        if (task) {
          errors = 0;
          if (task.lastStatus === "STOPPED") return ecsExitResult(task, containerName, stopRequested());
          continue;
        }
        const failure = out.failures?.[0];
        lastError = failure
          ? `${failure.reason ?? "unknown"}${failure.detail ? ` (${failure.detail})` : ""}`
          : "DescribeTasks returned no task";
      } catch (err) {
        lastError = awsMessage(err);
      }
      // Throttling or a network blip is retried; a task ECS no longer knows is lost.
      if (++errors >= this.maxWatchErrors)
        return { exitCode: null, reason: `lost track of ECS task ${taskArn}: ${lastError}`, stopped: stopRequested() };
    }
  }
}
