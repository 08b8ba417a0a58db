// An in-process stand-in for the Amazon ECS API, for tests: a node:http server speaking the AWS JSON
// 1.1 protocol the real @aws-sdk/client-ecs uses (POST /, X-Amz-Target:
// AmazonEC2ContainerServiceV20141113.<Action>, application/x-amz-json-1.1), with response and
// error shapes from the ECS API reference. It records every request as sent.
//
// Tasks advance one step per DescribeTasks call (PROVISIONING → PENDING → RUNNING → STOPPED), so a
// watcher sees intermediate states; each task's fate is chosen by `outcome`.
import { randomBytes } from "node:crypto";
import type http from "node:http";
import { serveOnLoopback, type LoopbackServer } from "./loopback-server.ts";

const TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113.";
const ACCOUNT = "123456789012";

export interface EcsRequest {
  action: string;
  body: Record<string, unknown>;
  /** Region of the SigV4 credential scope the client signed with. */
  region: string | null;
}

/** What a task does once it is RUNNING. */
export type TaskOutcome =
  | { kind: "exit"; exitCode: number; containerReason?: string; runningPolls?: number }
  | { kind: "oom" }
  | { kind: "fail-to-start"; stoppedReason: string }
  | { kind: "run-until-stopped" };

interface FakeTask {
  task: Record<string, unknown>;
  outcome: TaskOutcome;
  polls: number;
  stopReason: string | null;
}

class EcsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakeEcs {
  readonly requests: EcsRequest[] = [];
  /** Cluster names that exist ("default" is the account's default cluster). */
  readonly clusters = new Set(["default"]);
  /** Chooses each new task's fate from its RunTask request. */
  outcome: (runTask: Record<string, unknown>) => TaskOutcome = () => ({ kind: "exit", exitCode: 0 });
  /** When set, RunTask answers with these `failures` and no task (capacity, placement problems). */
  runTaskFailures:
    ((runTask: Record<string, unknown>) => { arn?: string; reason: string; detail?: string }[] | null) | null = null;

  /** Revisions by region and family: task definitions are regional. */
  private readonly taskDefinitions = new Map<string, Record<string, unknown>[]>();
  private readonly tasks = new Map<string, FakeTask>();
  private server!: LoopbackServer;
  url = "";

  static async start(): Promise<FakeEcs> {
    const fake = new FakeEcs();
    fake.server = await serveOnLoopback((req, res) => void fake.handle(req, res));
    fake.url = fake.server.url;
    return fake;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** The bodies of the requests for one action, in order. */
  bodiesOf(action: string): Record<string, unknown>[] {
    return this.requests.filter((r) => r.action === action).map((r) => r.body);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers["x-amz-target"] ?? "");
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-requestid": randomBytes(16).toString("hex"),
      });
      res.end(JSON.stringify(payload));
    };
    if (
      req.method !== "POST" ||
      req.url !== "/" ||
      !target.startsWith(TARGET_PREFIX) ||
      req.headers["content-type"] !== "application/x-amz-json-1.1"
    ) {
      send(400, {
        __type: "UnknownOperationException",
        message: `not an ECS JSON 1.1 request: ${req.method} ${req.url} ${target}`,
      });
      return;
    }
    const action = target.slice(TARGET_PREFIX.length);
    const body = (chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {}) as Record<string, unknown>;
    const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/ecs\/aws4_request/.exec(String(req.headers.authorization ?? ""));
    const region = scope?.[1] ?? null;
    this.requests.push({ action, body, region });
    if (!scope) {
      send(403, { __type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" });
      return;
    }
    try {
      send(200, this.dispatch(action, body, region!));
    } catch (err) {
      if (err instanceof EcsError) send(400, { __type: err.type, message: err.message });
      else send(500, { __type: "ServerException", message: (err as Error).message });
    }
  }

  private dispatch(action: string, body: Record<string, unknown>, region: string): unknown {
    switch (action) {
      case "RegisterTaskDefinition":
        return this.registerTaskDefinition(body, region);
      case "DescribeTaskDefinition":
        return { taskDefinition: this.findTaskDefinition(region, String(body["taskDefinition"] ?? "")), tags: [] };
      case "RunTask":
        return this.runTask(body, region);
      case "DescribeTasks":
        return this.describeTasks(body);
      case "StopTask":
        return this.stopTask(body);
      default:
        throw new EcsError(
          "InvalidAction",
          `The action ${action} is not valid for this web service (fake ECS implements RegisterTaskDefinition, DescribeTaskDefinition, RunTask, DescribeTasks, StopTask).`,
        );
    }
  }

  private clusterName(ref: unknown): string {
    const name = typeof ref === "string" && ref ? ref.replace(/^arn:aws:ecs:[^:]+:\d+:cluster\//, "") : "default";
    if (!this.clusters.has(name)) throw new EcsError("ClusterNotFoundException", "Cluster not found.");
    return name;
  }

  private registerTaskDefinition(body: Record<string, unknown>, region: string): unknown {
    const family = String(body["family"] ?? "");
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family))
      throw new EcsError("ClientException", "Family contains invalid characters.");
    const containers = body["containerDefinitions"];
    if (!Array.isArray(containers) || containers.length === 0)
      throw new EcsError("ClientException", "Container list cannot be empty.");
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
    if (!found) throw new EcsError("ClientException", "Unable to describe task definition.");
    return found;
  }

  private runTask(body: Record<string, unknown>, region: string): unknown {
    const cluster = this.clusterName(body["cluster"]);
    if (body["launchType"] && body["capacityProviderStrategy"])
      throw new EcsError(
        "InvalidParameterException",
        "Specifying both a launch type and capacity provider strategy is not supported.",
      );
    let definition: Record<string, unknown>;
    try {
      definition = this.findTaskDefinition(region, String(body["taskDefinition"] ?? ""));
    } catch {
      throw new EcsError("ClientException", "TaskDefinition not found.");
    }
    if (definition["networkMode"] === "awsvpc" && !body["networkConfiguration"]) {
      throw new EcsError(
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
    };
    this.tasks.set(taskArn, { task, outcome: this.outcome(body), polls: 0, stopReason: null });
    return { tasks: [task], failures: [] };
  }

  private describeTasks(body: Record<string, unknown>): unknown {
    this.clusterName(body["cluster"]);
    const tasks = [];
    const failures = [];
    for (const arn of (body["tasks"] as string[] | undefined) ?? []) {
      const entry = this.tasks.get(arn);
      if (!entry) {
        failures.push({ arn, reason: "MISSING" });
        continue;
      }
      this.advance(entry);
      tasks.push(entry.task);
    }
    return { tasks, failures };
  }

  private stopTask(body: Record<string, unknown>): unknown {
    this.clusterName(body["cluster"]);
    const entry = this.tasks.get(String(body["task"] ?? ""));
    if (!entry) throw new EcsError("InvalidParameterException", "The referenced task was not found.");
    entry.stopReason = typeof body["reason"] === "string" ? body["reason"] : "Task stopped by user";
    entry.task["desiredStatus"] = "STOPPED";
    entry.task["stoppingAt"] = Date.now() / 1000;
    return { task: entry.task };
  }

  private advance(entry: FakeTask): void {
    const t = entry.task;
    const containers = t["containers"] as Record<string, unknown>[];
    const stop = (stopCode: string, stoppedReason: string, container: { exitCode?: number; reason?: string }) => {
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
    if (entry.stopReason !== null) {
      // SIGTERM, ignored by node as PID 1, then SIGKILL after the stop timeout.
      stop("UserInitiated", entry.stopReason, { exitCode: 137 });
      return;
    }
    if (t["lastStatus"] === "PROVISIONING") {
      t["lastStatus"] = "PENDING";
      return;
    }
    if (t["lastStatus"] === "PENDING") {
      if (entry.outcome.kind === "fail-to-start") {
        stop("TaskFailedToStart", entry.outcome.stoppedReason, { reason: entry.outcome.stoppedReason });
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
