// An in-process stand-in for the Amazon ECS API, for tests: a node:http server speaking the AWS JSON
// 1.1 protocol the real @aws-sdk/client-ecs uses (POST /, X-Amz-Target:
// AmazonEC2ContainerServiceV20141113.<Action>, application/x-amz-json-1.1), with response and
// error shapes from the ECS API reference. It records every request as sent. Like ECS it is
// regional: a request signed for one region neither lists, describes nor stops another region's tasks.
//
// Tasks advance one step per DescribeTasks call (PROVISIONING → PENDING → RUNNING → STOPPED), so a
// watcher sees intermediate states; each task's fate is chosen by `outcome`. Like ECS it refuses
// what the worker could send wrong (overrides over 8,192 characters, invalid tags, a public IP or
// awsvpc where the launch type has none, awslogs on Fargate without an execution role), honours
// RunTask's clientToken, and returns tags only when asked (include TAGS). Tests can make it answer
// what production does: `faults` (throttling, 5xx, expired credentials) and capacity failures, and
// task outcomes that stay PROVISIONING or that ECS stops before they start. A task whose container
// definition has an awslogs logConfiguration writes its `output` to `logs` (a fake CloudWatch Logs),
// in the stream awslogs names `prefix/container-name/task-id`: one line per DescribeTasks poll while
// RUNNING, the rest when it stops. As the awslogs driver does when the container starts, the task's
// execution role creates the log group (only with awslogs-create-group "true"; without it a missing
// group stops the task) and the stream, and puts the events: each of those calls is recorded in
// `executionRoleRequests` and, when `executionRolePolicy` is set, refused as IAM would refuse it, with
// the ResourceInitializationError ECS stops such a task with.
import { randomBytes } from "node:crypto";
import { AwsError, AwsJsonFake } from "./aws-json.ts";
import type { FakeCloudWatchLogs } from "./cloudwatch-logs-api.ts";
import { policyAllows, type PolicyDocument } from "./iam-policy.ts";

const ACCOUNT = "123456789012";

/**
 * What a task does once it is RUNNING. `provisioningMs` keeps it PROVISIONING that long first
 * (Infinity: until stopped); `fail-to-start` is ECS stopping it before it runs (TaskFailedToStart).
 * `output` is what its container prints; its first line comes `outputAfterPolls` polls after RUNNING
 * (the log stream does not exist until then).
 */
export type TaskOutcome = { provisioningMs?: number; output?: string[]; outputAfterPolls?: number } & (
  | { kind: "exit"; exitCode: number; containerReason?: string; runningPolls?: number }
  | { kind: "oom" }
  | { kind: "fail-to-start"; stoppedReason: string }
  | { kind: "run-until-stopped" }
);

/** The errors ECS answers under load or with stale credentials, as the SDK receives them. */
export const ECS_FAULTS = {
  throttling: { status: 400, type: "ThrottlingException", message: "Rate exceeded" },
  server: { status: 500, type: "ServerException", message: "Service encountered an internal error." },
  expiredToken: {
    status: 400,
    type: "ExpiredTokenException",
    message: "The security token included in the request is expired",
  },
} as const;

interface FakeTask {
  task: Record<string, unknown>;
  outcome: TaskOutcome;
  polls: number;
  stopReason: string | null;
  createdAt: number;
  /** Where awslogs sends the container's output (null: no awslogs logConfiguration), and how much went. */
  logStream: { group: string; stream: string; createGroup: boolean; region: string } | null;
  /** The task definition's execution role, which the awslogs driver writes as. */
  executionRoleArn: string | null;
  written: number;
}

/** A CloudWatch Logs call the awslogs driver made as a task's execution role, as IAM authorises it. */
export interface ExecutionRoleRequest {
  role: string;
  action: string;
  resource: string;
  allowed: boolean;
}

export class FakeEcs extends AwsJsonFake {
  protected readonly service = {
    targetPrefix: "AmazonEC2ContainerServiceV20141113.",
    signingName: "ecs",
    name: "an ECS",
  };
  /** Cluster names that exist ("default" is the account's default cluster). */
  readonly clusters = new Set(["default"]);
  /** Chooses each new task's fate from its RunTask request. */
  outcome: (runTask: Record<string, unknown>) => TaskOutcome = () => ({ kind: "exit", exitCode: 0 });
  /** When set, RunTask answers with these `failures` and no task (capacity, placement problems). */
  runTaskFailures:
    ((runTask: Record<string, unknown>) => { arn?: string; reason: string; detail?: string }[] | null) | null = null;
  /** Where tasks with an awslogs logConfiguration write their output. */
  logs: FakeCloudWatchLogs | null = null;
  /** The IAM policy of every execution role (null: the awslogs driver may do anything). */
  executionRolePolicy: PolicyDocument | null = null;
  /** What the awslogs driver asked CloudWatch Logs for as the tasks' execution roles, in order. */
  readonly executionRoleRequests: ExecutionRoleRequest[] = [];

  /** The tasks RunTask started, newest last. */
  taskArns(): string[] {
    return [...this.tasks.keys()];
  }

  /** A task's current record (as DescribeTasks would show it, without advancing it). */
  taskOf(arn: string): Record<string, unknown> | undefined {
    return this.tasks.get(arn)?.task;
  }

  /** Revisions by region and family: task definitions are regional. */
  private readonly taskDefinitions = new Map<string, Record<string, unknown>[]>();
  private readonly tasks = new Map<string, FakeTask>();
  protected dispatch(action: string, body: Record<string, unknown>, region: string): unknown {
    switch (action) {
      case "RegisterTaskDefinition":
        return this.registerTaskDefinition(body, region);
      case "DescribeTaskDefinition":
        return { taskDefinition: this.findTaskDefinition(region, String(body["taskDefinition"] ?? "")), tags: [] };
      case "RunTask":
        return this.runTask(body, region);
      case "DescribeTasks":
        return this.describeTasks(body, region);
      case "StopTask":
        return this.stopTask(body, region);
      case "ListTasks":
        return this.listTasks(body, region);
      default:
        throw new AwsError(
          "InvalidAction",
          `The action ${action} is not valid for this web service (fake ECS implements RegisterTaskDefinition, DescribeTaskDefinition, RunTask, DescribeTasks, StopTask, ListTasks).`,
        );
    }
  }

  private clusterName(ref: unknown): string {
    const name = typeof ref === "string" && ref ? ref.replace(/^arn:aws:ecs:[^:]+:\d+:cluster\//, "") : "default";
    if (!this.clusters.has(name)) throw new AwsError("ClusterNotFoundException", "Cluster not found.");
    return name;
  }

  private registerTaskDefinition(body: Record<string, unknown>, region: string): unknown {
    const family = String(body["family"] ?? "");
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family))
      throw new AwsError("ClientException", "Family contains invalid characters.");
    const containers = body["containerDefinitions"];
    if (!Array.isArray(containers) || containers.length === 0)
      throw new AwsError("ClientException", "Container list cannot be empty.");
    const fargate = (body["requiresCompatibilities"] as string[] | undefined)?.includes("FARGATE");
    const awslogs = (containers as { logConfiguration?: { logDriver?: string } }[]).some(
      (c) => c.logConfiguration?.logDriver === "awslogs",
    );
    if (fargate && awslogs && !body["executionRoleArn"])
      throw new AwsError(
        "ClientException",
        "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
      );
    const revisions = this.taskDefinitions.get(`${region}/${family}`) ?? [];
    const revision = revisions.length + 1;
    const definition = {
      ...body,
      taskDefinitionArn: `arn:aws:ecs:${region}:${ACCOUNT}:task-definition/${family}:${revision}`,
      revision,
      status: "ACTIVE",
      compatibilities: ["EC2", "FARGATE"],
      registeredAt: Date.now() / 1000,
      registeredBy: `arn:aws:iam::${ACCOUNT}:user/worker`,
    };
    revisions.push(definition);
    this.taskDefinitions.set(`${region}/${family}`, revisions);
    return { taskDefinition: definition, tags: body["tags"] ?? [] };
  }

  private findTaskDefinition(region: string, ref: string): Record<string, unknown> {
    const m = /^(?:arn:aws:ecs:[^:]+:\d+:task-definition\/)?([A-Za-z0-9_-]+)(?::(\d+))?$/.exec(ref);
    const revisions = m ? this.taskDefinitions.get(`${region}/${m[1]!}`) : undefined;
    const found = revisions && (m![2] ? revisions[Number(m![2]) - 1] : revisions.at(-1));
    if (!found) throw new AwsError("ClientException", "Unable to describe task definition.");
    return found;
  }

  private runTask(body: Record<string, unknown>, region: string): unknown {
    const cluster = this.clusterName(body["cluster"]);
    const token = typeof body["clientToken"] === "string" ? body["clientToken"] : null;
    const earlier = token ? [...this.tasks.values()].find((t) => t.task["clientToken"] === token) : undefined;
    if (earlier) return { tasks: [earlier.task], failures: [] };
    this.validateRunTask(body);
    if (body["launchType"] && body["capacityProviderStrategy"])
      throw new AwsError(
        "InvalidParameterException",
        "Specifying both a launch type and capacity provider strategy is not supported.",
      );
    let definition: Record<string, unknown>;
    try {
      definition = this.findTaskDefinition(region, String(body["taskDefinition"] ?? ""));
    } catch {
      throw new AwsError("ClientException", "TaskDefinition not found.");
    }
    if (definition["networkMode"] === "awsvpc" && !body["networkConfiguration"]) {
      throw new AwsError(
        "InvalidParameterException",
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
      );
    }
    const failures = this.runTaskFailures?.(body);
    if (failures) return { tasks: [], failures };
    const id = randomBytes(16).toString("hex");
    const taskArn = `arn:aws:ecs:${region}:${ACCOUNT}:task/${cluster}/${id}`;
    const containers = (definition["containerDefinitions"] as { name: string; image: string }[]).map((c) => ({
      containerArn: `arn:aws:ecs:${region}:${ACCOUNT}:container/${cluster}/${id}/${randomBytes(16).toString("hex")}`,
      taskArn,
      name: c.name,
      image: c.image,
      lastStatus: "PENDING",
      networkInterfaces: [],
      cpu: "0",
    }));
    const task: Record<string, unknown> = {
      taskArn,
      clusterArn: `arn:aws:ecs:${region}:${ACCOUNT}:cluster/${cluster}`,
      taskDefinitionArn: definition["taskDefinitionArn"],
      lastStatus: "PROVISIONING",
      desiredStatus: "RUNNING",
      containers,
      cpu: definition["cpu"],
      memory: definition["memory"],
      createdAt: Date.now() / 1000,
      group: `family:${String(definition["family"])}`,
      launchType: body["launchType"] ?? "FARGATE",
      ...(body["capacityProviderStrategy"]
        ? {
            capacityProviderName: (body["capacityProviderStrategy"] as { capacityProvider: string }[])[0]
              ?.capacityProvider,
          }
        : {}),
      overrides: body["overrides"] ?? { containerOverrides: [] },
      startedBy: body["startedBy"],
      tags: body["tags"] ?? [],
      version: 1,
      attachments: [],
      ...(token ? { clientToken: token } : {}),
    };
    const logConfiguration = (
      definition["containerDefinitions"] as {
        logConfiguration?: { logDriver?: string; options?: Record<string, string> };
      }[]
    )[0]?.logConfiguration;
    const awslogs = logConfiguration?.logDriver === "awslogs" ? logConfiguration.options : undefined;
    const logStream =
      awslogs?.["awslogs-group"] && awslogs["awslogs-stream-prefix"]
        ? {
            group: awslogs["awslogs-group"],
            stream: `${awslogs["awslogs-stream-prefix"]}/${containers[0]!.name}/${id}`,
            createGroup: awslogs["awslogs-create-group"] === "true",
            region: awslogs["awslogs-region"] ?? region,
          }
        : null;
    this.tasks.set(taskArn, {
      task,
      outcome: this.outcome(body),
      polls: 0,
      stopReason: null,
      createdAt: Date.now(),
      logStream,
      executionRoleArn: typeof definition["executionRoleArn"] === "string" ? definition["executionRoleArn"] : null,
      written: 0,
    });
    return { tasks: [withoutTags(task)], failures: [] };
  }

  /** RunTask's own checks on the fields the worker sends, with ECS's messages. */
  private validateRunTask(body: Record<string, unknown>): void {
    const overrides = body["overrides"];
    if (overrides && JSON.stringify(overrides).length > 8192)
      throw new AwsError("InvalidParameterException", "Container Overrides length must be at most 8192");
    const tags = (body["tags"] as { key?: string; value?: string }[] | undefined) ?? [];
    if (tags.length > 50) throw new AwsError("InvalidParameterException", "Tags can have a maximum of 50 items.");
    const allowed = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
    for (const { key = "", value = "" } of tags) {
      if (key.length < 1 || key.length > 128 || !allowed.test(key) || /^aws:/i.test(key))
        throw new AwsError("InvalidParameterException", `Invalid tag key: ${key}`);
      if (value.length > 256 || !allowed.test(value))
        throw new AwsError("InvalidParameterException", `Invalid tag value for key ${key}`);
    }
    const launchType = body["launchType"] as string | undefined;
    const vpc = (body["networkConfiguration"] as { awsvpcConfiguration?: { assignPublicIp?: string } } | undefined)
      ?.awsvpcConfiguration;
    const fargate =
      launchType === "FARGATE" ||
      (body["capacityProviderStrategy"] as { capacityProvider: string }[] | undefined)?.every((s) =>
        s.capacityProvider.startsWith("FARGATE"),
      ) === true;
    if (vpc?.assignPublicIp === "ENABLED" && !fargate)
      throw new AwsError("InvalidParameterException", "Assign public IP is not supported for this launch type.");
    if (launchType === "EXTERNAL" && vpc)
      throw new AwsError(
        "InvalidParameterException",
        "Network Configuration is not supported for EXTERNAL launch type.",
      );
  }

  /** The task `arn` names, in `region` only: ECS is regional, and another region's task is not there. */
  private taskIn(region: string, arn: string): FakeTask | undefined {
    return arn.startsWith(`arn:aws:ecs:${region}:`) ? this.tasks.get(arn) : undefined;
  }

  private describeTasks(body: Record<string, unknown>, region: string): unknown {
    this.clusterName(body["cluster"]);
    const withTags = ((body["include"] as string[] | undefined) ?? []).includes("TAGS");
    const tasks = [];
    const failures = [];
    for (const arn of (body["tasks"] as string[] | undefined) ?? []) {
      const entry = this.taskIn(region, arn);
      if (!entry) {
        failures.push({ arn, reason: "MISSING" });
        continue;
      }
      this.advance(entry);
      tasks.push(withTags ? entry.task : withoutTags(entry.task));
    }
    return { tasks, failures };
  }

  /** ListTasks: the region's cluster's tasks by startedBy and desired status (RUNNING by default), as ARNs. */
  private listTasks(body: Record<string, unknown>, region: string): unknown {
    const cluster = this.clusterName(body["cluster"]);
    const desired = typeof body["desiredStatus"] === "string" ? body["desiredStatus"] : "RUNNING";
    const taskArns = [...this.tasks.values()]
      .map((e) => e.task)
      .filter(
        (t) =>
          String(t["clusterArn"]) === `arn:aws:ecs:${region}:${ACCOUNT}:cluster/${cluster}` &&
          t["desiredStatus"] === desired &&
          (body["startedBy"] === undefined || t["startedBy"] === body["startedBy"]),
      )
      .map((t) => t["taskArn"]);
    return { taskArns };
  }

  private stopTask(body: Record<string, unknown>, region: string): unknown {
    this.clusterName(body["cluster"]);
    const entry = this.taskIn(region, String(body["task"] ?? ""));
    if (!entry) throw new AwsError("InvalidParameterException", "The referenced task was not found.");
    // Stopping a stopped task answers the task as it is.
    if (entry.task["lastStatus"] !== "STOPPED") {
      entry.stopReason = typeof body["reason"] === "string" ? body["reason"] : "Task stopped by user";
      entry.task["desiredStatus"] = "STOPPED";
      entry.task["stoppingAt"] = Date.now() / 1000;
    }
    return { task: withoutTags(entry.task) };
  }

  /**
   * A CloudWatch Logs call of the awslogs driver, as the task's execution role: recorded, and
   * answered with IAM's AccessDeniedException message when the role's policy does not allow it.
   */
  private asExecutionRole(entry: FakeTask, action: string, resource: string): string | null {
    // Without an execution role (EC2 only) the container instance's role writes: not modelled.
    const role = entry.executionRoleArn;
    if (!role) return null;
    const allowed = !this.executionRolePolicy || policyAllows(this.executionRolePolicy, { action, resource });
    this.executionRoleRequests.push({ role, action, resource, allowed });
    if (allowed) return null;
    const taskId = String(entry.task["taskArn"]).split("/").at(-1);
    return `AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/${role.split("/").at(-1)}/${taskId} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
  }

  /**
   * What the awslogs driver does before the container starts: the log group (created only with
   * awslogs-create-group) and the task's stream. Answers why the task cannot start, or null.
   */
  private startLogging(entry: FakeTask): string | null {
    const target = entry.logStream;
    if (!target || !this.logs) return null;
    const failed = (what: string) =>
      `ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: ${what} : exit status 1`;
    // IAM names log-group resources as `log-group:NAME:log-stream:STREAM` (an empty stream for the group).
    const arn = (stream: string) =>
      `arn:aws:logs:${target.region}:${ACCOUNT}:log-group:${target.group}:log-stream:${stream}`;
    if (!this.logs.groups.has(target.group)) {
      if (!target.createGroup)
        return failed(
          "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.",
        );
      const denied = this.asExecutionRole(entry, "logs:CreateLogGroup", arn(""));
      if (denied) return failed(`failed to create Cloudwatch log group: ${denied}`);
      this.logs.createGroup(target.group);
    }
    const denied = this.asExecutionRole(entry, "logs:CreateLogStream", arn(target.stream));
    if (denied) return failed(`failed to create Cloudwatch log stream: ${denied}`);
    // The stream itself appears with the first line (`outputAfterPolls`), so a follower can be
    // shown a stream that does not exist yet.
    return null;
  }

  /** Writes the task's output up to line `upTo` to its log stream, as awslogs would. */
  private print(entry: FakeTask, upTo: number): void {
    const output = entry.outcome.output ?? [];
    const to = Math.min(upTo, output.length);
    if (!entry.logStream || !this.logs || to <= entry.written) return;
    const { group, stream, region } = entry.logStream;
    // A refused PutLogEvents loses those lines; the container runs on, as with the real driver.
    if (
      !this.asExecutionRole(
        entry,
        "logs:PutLogEvents",
        `arn:aws:logs:${region}:${ACCOUNT}:log-group:${group}:log-stream:${stream}`,
      )
    )
      this.logs.write(group, stream, output.slice(entry.written, to));
    entry.written = to;
  }

  private advance(entry: FakeTask): void {
    const t = entry.task;
    const containers = t["containers"] as Record<string, unknown>[];
    const stop = (stopCode: string, stoppedReason: string, container: { exitCode?: number; reason?: string }) => {
      if (t["lastStatus"] === "RUNNING") this.print(entry, entry.outcome.output?.length ?? 0);
      Object.assign(t, {
        lastStatus: "STOPPED",
        desiredStatus: "STOPPED",
        stopCode,
        stoppedReason,
        stoppedAt: Date.now() / 1000,
        executionStoppedAt: Date.now() / 1000,
      });
      for (const c of containers) Object.assign(c, { lastStatus: "STOPPED" }, container);
    };
    if (t["lastStatus"] === "STOPPED") return;
    entry.polls++;
    // The container prints one line per poll while it runs, and everything left by the time it stops.
    if (t["lastStatus"] === "RUNNING" && entry.polls > (entry.outcome.outputAfterPolls ?? 0))
      this.print(entry, entry.written + 1);
    if (entry.stopReason !== null) {
      // SIGTERM, ignored by node as PID 1, then SIGKILL after the stop timeout.
      // A task stopped before its container ran has no exit code.
      stop("UserInitiated", entry.stopReason, t["lastStatus"] === "RUNNING" ? { exitCode: 137 } : {});
      return;
    }
    if (t["lastStatus"] === "PROVISIONING") {
      if (Date.now() - entry.createdAt < (entry.outcome.provisioningMs ?? 0)) return;
      // ECS gives up on a task it could not provision (no ENI, no capacity) from PROVISIONING.
      if (entry.outcome.kind === "fail-to-start" && entry.outcome.provisioningMs !== undefined) {
        stop("TaskFailedToStart", entry.outcome.stoppedReason, {});
        return;
      }
      t["lastStatus"] = "PENDING";
      return;
    }
    if (t["lastStatus"] === "PENDING") {
      if (entry.outcome.kind === "fail-to-start") {
        stop("TaskFailedToStart", entry.outcome.stoppedReason, { reason: entry.outcome.stoppedReason });
        return;
      }
      const logging = this.startLogging(entry);
      if (logging) {
        stop("TaskFailedToStart", logging, {});
        return;
      }
      Object.assign(t, {
        lastStatus: "RUNNING",
        startedAt: Date.now() / 1000,
        pullStartedAt: Date.now() / 1000,
        pullStoppedAt: Date.now() / 1000,
      });
      for (const c of containers) c["lastStatus"] = "RUNNING";
      entry.polls = 0;
      return;
    }
    const outcome = entry.outcome;
    if (outcome.kind === "exit" && entry.polls > (outcome.runningPolls ?? 1)) {
      stop("EssentialContainerExited", "Essential container in task exited", {
        exitCode: outcome.exitCode,
        ...(outcome.containerReason ? { reason: outcome.containerReason } : {}),
      });
    } else if (outcome.kind === "oom") {
      stop("EssentialContainerExited", "Essential container in task exited", {
        exitCode: 137,
        reason: "OutOfMemoryError: Container killed due to memory usage",
      });
    }
  }
}

/** A task as ECS answers it without include: ["TAGS"]. */
function withoutTags(task: Record<string, unknown>): Record<string, unknown> {
  const { tags: _tags, clientToken: _token, ...rest } = task;
  return rest;
}

/**
 * Points the AWS SDK's default chain at test credentials and region, with no profile files and no
 * instance metadata to look for; answers what puts the environment back.
 */
export function setAwsTestEnv(): () => void {
  const values: Record<string, string | undefined> = {
    AWS_ACCESS_KEY_ID: "AKIAFLOWPLANETEST",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: "/nonexistent",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
  };
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  const apply = (env: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(values);
  return () => apply(saved);
}
