// The ecs pool through the real @aws-sdk/client-ecs against an in-process fake of the ECS JSON 1.1
// API: the exact requests the worker sends, and how stopped tasks map to run outcomes. Credentials
// and region come from the SDK's default chain (here: environment variables).
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestServer, waitFor, waitForRun, type TestServer } from "../../../../e2e/harness.ts";
import { followLogStream } from "./cloudwatch-logs.ts";
import { EcsInfrastructure, ecsJobSettings, type EcsInfrastructureOptions } from "./ecs.ts";
import { FakeCloudWatchLogs, LOGS_FAULTS } from "./fakes/cloudwatch-logs-api.ts";
import { ECS_FAULTS, FakeEcs, setAwsTestEnv } from "./fakes/ecs-api.ts";
import {
  cancelAfterRestart,
  cancelThroughFailingStops,
  createPool,
  resolvedJobSpec,
  restartAmongOwnJobs,
  RESTARTS,
  runLogs,
  runOnce,
  startWorker,
} from "./fakes/scenarios.ts";
import { InfrastructureError } from "./types.ts";

let fake: FakeEcs;
let logs: FakeCloudWatchLogs;
let restoreEnv: (() => void) | undefined;

beforeAll(async () => {
  restoreEnv = setAwsTestEnv();
  fake = await FakeEcs.start();
  fake.clusters.add("flows");
  logs = await FakeCloudWatchLogs.start();
  fake.logs = logs;
});

afterAll(async () => {
  await fake?.close();
  await logs?.close();
  restoreEnv?.();
});

beforeEach(() => {
  fake.requests.length = 0;
  fake.outcome = () => ({ kind: "exit", exitCode: 0 });
  fake.runTaskFailures = null;
  fake.faults.length = 0;
  logs.reset();
});

/** Timeouts shortened by configuration: retries, start and lost-track bounds within a test's time. */
const infra = (options: Partial<EcsInfrastructureOptions> = {}) =>
  new EcsInfrastructure({
    endpoint: fake.url,
    pollIntervalMs: 10,
    retryForMs: 300,
    retryDelayMs: 10,
    lostAfterMs: 300,
    stopWaitMs: 2_000,
    logsEndpoint: logs.url,
    logDrainMs: 50,
    ...options,
  });

const network = { subnets: ["subnet-0a1b"], security_groups: ["sg-0c2d"] };

/** A job as the worker builds it: the default ecs template resolved with deployment and run variables. */
const jobSpec = (deployment: Record<string, unknown>, run: Record<string, unknown> = {}) =>
  resolvedJobSpec(
    "ecs",
    {
      id: "0197a5d0-0000-7000-8000-000000000001",
      name: "crimson-otter",
      workerName: "ecs-worker-1",
      format: (line) => line,
    },
    deployment,
    run,
  );

describe("ecs requests", () => {
  it("registers a task definition from the job's image, cpu and memory, then runs it with the merged overrides and tags", async () => {
    const job = jobSpec(
      {
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1.4",
        cluster: "flows",
        cpu: 512,
        memory: "1024",
        execution_role_arn: "arn:aws:iam::123456789012:role/exec",
        env: { STAGE: "prod", LOG: "info" },
        tags: { team: "data" },
        ...network,
      },
      { env: { LOG: "debug" }, command: "node --import tsx runner.ts", tags: { ticket: "OPS-1" } },
    );
    const running = await infra().submit(job);
    const family = ecsJobSettings(job).register!.family!;
    expect(family).toMatch(/^flowplane-[0-9a-f]{16}$/);
    expect(fake.requests.map((r) => r.action)).toEqual(["DescribeTaskDefinition", "RegisterTaskDefinition", "RunTask"]);
    expect(fake.requests.every((r) => r.region === "us-east-1")).toBe(true);
    expect(fake.bodiesOf("DescribeTaskDefinition")).toEqual([{ taskDefinition: family }]);
    expect(fake.bodiesOf("RegisterTaskDefinition")).toEqual([
      {
        family,
        containerDefinitions: [
          {
            name: "flowplane",
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1.4",
            essential: true,
            // The execution role writes the container's output to CloudWatch Logs.
            logConfiguration: {
              logDriver: "awslogs",
              options: {
                "awslogs-group": "/flowplane/flow-runs",
                "awslogs-stream-prefix": "flowplane",
                "awslogs-create-group": "true",
              },
            },
          },
        ],
        cpu: "512",
        memory: "1024",
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        executionRoleArn: "arn:aws:iam::123456789012:role/exec",
      },
    ]);
    expect(fake.bodiesOf("RunTask")).toEqual([
      {
        // The idempotency token, one per submission and kept across its retries.
        clientToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
        cluster: "flows",
        taskDefinition: `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:1`,
        launchType: "FARGATE",
        networkConfiguration: {
          awsvpcConfiguration: { subnets: ["subnet-0a1b"], securityGroups: ["sg-0c2d"], assignPublicIp: "DISABLED" },
        },
        overrides: {
          containerOverrides: [
            {
              name: "flowplane",
              environment: [
                { name: "STAGE", value: "prod" },
                { name: "LOG", value: "debug" },
                { name: "FLOWPLANE_API_URL", value: "https://flowplane.example.com/api" },
                { name: "FLOWPLANE_FLOW_RUN_ID", value: "0197a5d0-0000-7000-8000-000000000001" },
              ],
              command: ["node", "--import", "tsx", "runner.ts"],
            },
          ],
        },
        tags: [
          { key: "team", value: "data" },
          { key: "ticket", value: "OPS-1" },
          { key: "flowplane.run-id", value: "0197a5d0-0000-7000-8000-000000000001" },
          { key: "flowplane.worker", value: "ecs-worker-1" },
        ],
        startedBy: "flowplane",
      },
    ]);
    expect(running.id).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task\/flows\/[0-9a-f]{32}$/);
    await running.exited;
    const describes = fake.bodiesOf("DescribeTasks");
    expect(describes.length).toBeGreaterThan(2);
    for (const body of describes)
      expect(body).toEqual({ cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/flows", tasks: [running.id] });
  });

  it("reuses a registered task definition for the same content and registers another for a new image", async () => {
    const worker = infra();
    await (
      await worker.submit(jobSpec({ image: "etl:1", ...network }))
    ).exited;
    await (
      await worker.submit(jobSpec({ image: "etl:1", ...network }, { env: { RUN_ONLY: "1" } }))
    ).exited;
    expect(fake.requests.filter((r) => r.action !== "DescribeTasks").map((r) => r.action)).toEqual([
      "DescribeTaskDefinition",
      "RegisterTaskDefinition",
      "RunTask",
      "RunTask",
    ]);
    // Another worker (nothing cached) finds the family ECS already has.
    fake.requests.length = 0;
    await (
      await infra().submit(jobSpec({ image: "etl:1", ...network }))
    ).exited;
    expect(fake.requests.filter((r) => r.action !== "DescribeTasks").map((r) => r.action)).toEqual([
      "DescribeTaskDefinition",
      "RunTask",
    ]);
    fake.requests.length = 0;
    await (
      await worker.submit(jobSpec({ image: "etl:2", ...network }))
    ).exited;
    expect(fake.requests.filter((r) => r.action !== "DescribeTasks").map((r) => r.action)).toEqual([
      "DescribeTaskDefinition",
      "RegisterTaskDefinition",
      "RunTask",
    ]);
    const [v1, v2] = [
      ecsJobSettings(jobSpec({ image: "etl:1", ...network })).register!.family,
      ecsJobSettings(jobSpec({ image: "etl:2", ...network })).register!.family,
    ];
    expect(v2).not.toBe(v1);
    expect(fake.bodiesOf("RegisterTaskDefinition").map((b) => b["family"])).toEqual([v2]);
  });

  it("runs a given task definition as is, with a capacity provider strategy instead of a launch type and the default cluster", async () => {
    await (
      await infra().submit(jobSpec({ image: "ignored:1", ...network }))
    ).exited;
    const arn = String(fake.bodiesOf("RunTask")[0]!["taskDefinition"]);
    fake.requests.length = 0;
    const job = jobSpec({
      task_definition_arn: arn,
      capacity_provider_strategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
      assign_public_ip: true,
      container_name: "flowplane",
      ...network,
      security_groups: [],
    });
    await (
      await infra().submit(job)
    ).exited;
    expect(fake.requests.filter((r) => r.action !== "DescribeTasks").map((r) => r.action)).toEqual(["RunTask"]);
    const body = fake.bodiesOf("RunTask")[0]!;
    expect(body).not.toHaveProperty("cluster");
    expect(body).not.toHaveProperty("launchType");
    expect(body).toMatchObject({
      taskDefinition: arn,
      capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0a1b"], assignPublicIp: "ENABLED" } },
    });
    // No command override: the image's own command (the flowplane image's runner) runs.
    expect(
      (body["overrides"] as { containerOverrides: Record<string, unknown>[] }).containerOverrides[0],
    ).not.toHaveProperty("command");
  });

  it("signs with the job's region when it names one, over the chain's AWS_REGION", async () => {
    await (
      await infra().submit(jobSpec({ image: "etl:1", region: "eu-west-1", ...network }))
    ).exited;
    expect(new Set(fake.requests.map((r) => r.region))).toEqual(new Set(["eu-west-1"]));
    expect(fake.bodiesOf("RegisterTaskDefinition")[0]!["family"]).toMatch(/^flowplane-/);
  });
});

describe("ecs task outcomes", () => {
  it("maps a task whose container exited 0 to success", async () => {
    const running = await infra().submit(jobSpec({ image: "etl:1", ...network }));
    expect(await running.exited).toEqual({ exitCode: 0, reason: "exited with code 0", stopped: false });
  });

  it("maps a non-zero exit code", async () => {
    fake.outcome = () => ({ kind: "exit", exitCode: 2 });
    const running = await infra().submit(jobSpec({ image: "etl:1", ...network }));
    expect(await running.exited).toEqual({ exitCode: 2, reason: "exited with code 2", stopped: false });
  });

  it("maps OutOfMemoryError to OOMKilled", async () => {
    fake.outcome = () => ({ kind: "oom" });
    const running = await infra().submit(jobSpec({ image: "etl:1", ...network }));
    expect(await running.exited).toEqual({ exitCode: 137, reason: "OOMKilled", stopped: false });
  });

  it("maps TaskFailedToStart with ECS's reason (an image that cannot be pulled)", async () => {
    const reason =
      "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/library/etl:404: not found";
    fake.outcome = () => ({ kind: "fail-to-start", stoppedReason: reason });
    const running = await infra().submit(jobSpec({ image: "etl:404", ...network }));
    expect(await running.exited).toEqual({
      exitCode: null,
      reason: `task failed to start: ${reason}: ${reason}`,
      stopped: false,
    });
  });

  it("stop(): StopTask with a reason, then the task is reported stopped (UserInitiated)", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped" });
    const running = await infra().submit(jobSpec({ image: "etl:1", cluster: "flows", ...network }));
    await expect.poll(() => fake.bodiesOf("DescribeTasks").length).toBeGreaterThan(3);
    await running.stop(10_000);
    expect(fake.bodiesOf("StopTask")).toEqual([
      {
        cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/flows",
        task: running.id,
        reason: "Flowplane: flow run cancelled",
      },
    ]);
    expect(await running.exited).toEqual({
      exitCode: 137,
      reason: "task stopped: Flowplane: flow run cancelled",
      stopped: true,
    });
  });
});

describe("ecs stream_output: the task's CloudWatch Logs stream is copied into the run's output", () => {
  const executionRole = { execution_role_arn: "arn:aws:iam::123456789012:role/flowplane-flow-run-execution" };
  const lines = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);

  it("follows the awslogs stream prefix/container/task-id from the head with nextForwardToken, every line once and in order across a dropped connection, throttling and a 5xx", async () => {
    fake.outcome = () => ({ kind: "exit", exitCode: 0, runningPolls: 20, output: lines });
    // Small pages: the follower must chain tokens, and a failure lands between pages.
    logs.pageSize = 2;
    const events: string[] = [];
    const job = jobSpec({ image: "etl:1", stream_output: true, ...executionRole, ...network });
    const running = await infra({ retryForMs: 5_000 }).submit({ ...job, onEvent: (m) => events.push(m) });
    await expect.poll(() => job.lines.length).toBeGreaterThanOrEqual(3);
    logs.dropConnections(1);
    logs.fail("GetLogEvents", LOGS_FAULTS.throttling, 2);
    logs.fail("GetLogEvents", LOGS_FAULTS.unavailable, 1);
    expect(await running.exited).toEqual({ exitCode: 0, reason: "exited with code 0", stopped: false });
    expect(job.lines).toEqual(lines);
    const stream = `flowplane/flowplane/${running.id.split("/").at(-1)}`;
    expect(logs.messages("/flowplane/flow-runs", stream)).toEqual(lines);
    const reads = logs.bodiesOf("GetLogEvents");
    expect(reads[0]).toEqual({ logGroupName: "/flowplane/flow-runs", logStreamName: stream, startFromHead: true });
    expect(reads.every((r) => r["logGroupName"] === "/flowplane/flow-runs" && r["logStreamName"] === stream)).toBe(
      true,
    );
    expect(logs.requests.map((r) => r.answer)).toEqual(
      expect.arrayContaining(["reset", "ThrottlingException", "ServiceUnavailableException"]),
    );
    // Each failed read was retried with the token it had sent: the next read sends the same one.
    logs.requests.forEach((r, i) => {
      if (r.answer !== "OK" && r.answer !== "ResourceNotFoundException")
        expect(logs.requests[i + 1]!.body["nextToken"]).toBe(r.body["nextToken"]);
    });
    expect(events.filter((e) => /^reading CloudWatch Logs stream .*; retry \d in /.test(e))).toHaveLength(4);
    expect(events.some((e) => e.includes("ThrottlingException: Rate exceeded"))).toBe(true);
  });

  it("waits through ResourceNotFoundException for a stream that appears late, then copies it from its first line", async () => {
    fake.outcome = () => ({
      kind: "exit",
      exitCode: 0,
      runningPolls: 12,
      output: lines.slice(0, 4),
      outputAfterPolls: 6,
    });
    const job = jobSpec({ image: "etl:1", stream_output: true, ...executionRole, ...network });
    const running = await infra().submit(job);
    await running.exited;
    expect(job.lines).toEqual(lines.slice(0, 4));
    const answers = logs.requests.map((r) => r.answer);
    expect(answers[0]).toBe("ResourceNotFoundException");
    expect(answers.indexOf("OK")).toBeGreaterThan(0);
    // Once the stream existed, it was never missing again.
    expect(answers.slice(answers.indexOf("OK"))).not.toContain("ResourceNotFoundException");
  });

  it("a task that wrote nothing: the follower stops after the drain and says there was no stream", async () => {
    const events: string[] = [];
    const job = jobSpec({ image: "etl:1", stream_output: true, ...executionRole, ...network });
    const running = await infra().submit({ ...job, onEvent: (m) => events.push(m) });
    await running.exited;
    expect(job.lines).toEqual([]);
    expect(events).toEqual([
      `CloudWatch Logs stream /flowplane/flow-runs/flowplane/flowplane/${running.id.split("/").at(-1)} does not exist: the task wrote no output there`,
    ]);
  });

  it("a given task definition: follows the stream its awslogs configuration names, in its awslogs-region", async () => {
    const ecsClient = new ECSClient({ endpoint: fake.url, region: "eu-west-1" });
    const registered = await ecsClient.send(
      new RegisterTaskDefinitionCommand({
        family: "etl-custom",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        executionRoleArn: executionRole.execution_role_arn,
        containerDefinitions: [
          {
            name: "flowplane",
            image: "etl:1",
            logConfiguration: {
              logDriver: "awslogs",
              options: { "awslogs-group": "/etl/runs", "awslogs-stream-prefix": "etl", "awslogs-region": "eu-west-1" },
            },
          },
        ],
      }),
    );
    // A given task definition without awslogs-create-group logs to a group that must exist.
    logs.createGroup("/etl/runs");
    fake.outcome = () => ({ kind: "exit", exitCode: 0, output: ["custom 1", "custom 2"] });
    const job = jobSpec({
      image: "ignored:1",
      region: "eu-west-1",
      task_definition_arn: registered.taskDefinition!.taskDefinitionArn,
      stream_output: true,
      ...network,
    });
    const running = await infra().submit(job);
    await running.exited;
    expect(job.lines).toEqual(["custom 1", "custom 2"]);
    expect(logs.requests.at(-1)).toMatchObject({
      region: "eu-west-1",
      body: { logGroupName: "/etl/runs", logStreamName: `etl/flowplane/${running.id.split("/").at(-1)}` },
    });
  });

  it("abort() (the task lost) stops the follower at once, even in the middle of a retry's backoff", async () => {
    logs.write("/flowplane/flow-runs", "flowplane/flowplane/abc", ["one"]);
    logs.fail("GetLogEvents", LOGS_FAULTS.throttling, 100);
    const events: string[] = [];
    const follower = followLogStream(
      { region: null, group: "/flowplane/flow-runs", stream: "flowplane/flowplane/abc" },
      () => {},
      (m) => events.push(m),
      { endpoint: logs.url, pollIntervalMs: 10, retryForMs: 60_000, retryDelayMs: 10_000, drainMs: 50 },
    );
    await expect.poll(() => events.length).toBe(1);
    const started = Date.now();
    follower.abort();
    await follower.done;
    expect(Date.now() - started).toBeLessThan(500);
    const reads = logs.requests.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(logs.requests.length).toBe(reads);
    expect(events).toEqual([
      expect.stringMatching(/^reading CloudWatch Logs stream .*: ThrottlingException: Rate exceeded; retry 1 in /),
    ]);
  });

  it("without an execution role there is no stream: said once, nothing read", async () => {
    const events: string[] = [];
    const job = jobSpec({ image: "etl:1", stream_output: true, ...network });
    await (
      await infra().submit({ ...job, onEvent: (m) => events.push(m) })
    ).exited;
    expect(events).toEqual([
      "stream_output: the task's output is not copied: without an execution_role_arn ECS cannot send it to CloudWatch Logs",
    ]);
    expect(logs.requests).toEqual([]);
  });

  it("the fake refuses what CloudWatch Logs refuses: unknown group or stream, a token it did not hand out, limit out of bounds", async () => {
    logs.write("/known", "s", ["a"]);
    const client = new CloudWatchLogsClient({ endpoint: logs.url, maxAttempts: 1 });
    const get = (input: Record<string, unknown>) =>
      client.send(new GetLogEventsCommand({ logGroupName: "/known", logStreamName: "s", ...input }));
    await expect(get({ logGroupName: "/unknown" })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      message: "The specified log group does not exist.",
    });
    await expect(get({ logStreamName: "other" })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      message: "The specified log stream does not exist.",
    });
    await expect(
      get({ nextToken: "f/00000000000000000000000000000000000000000000000000000001" }),
    ).rejects.toMatchObject({ name: "InvalidParameterException", message: "The specified nextToken is invalid." });
    await expect(get({ limit: 0 })).rejects.toMatchObject({ name: "InvalidParameterException" });
    await expect(get({ limit: 10_001 })).rejects.toMatchObject({ name: "InvalidParameterException" });
    // At the end of the stream the same token comes back.
    const first = await get({ startFromHead: true });
    expect(first.events!.map((e) => e.message)).toEqual(["a"]);
    const again = await get({ nextToken: first.nextForwardToken });
    expect(again.events).toEqual([]);
    expect(again.nextForwardToken).toBe(first.nextForwardToken);
  });
});

describe("ecs submit errors name the cause", () => {
  it("a cluster that does not exist", async () => {
    await expect(infra().submit(jobSpec({ image: "etl:1", cluster: "nope", ...network }))).rejects.toThrow(
      'ECS cluster "nope" not found (ClusterNotFoundException: Cluster not found.)',
    );
  });

  it("capacity failures in RunTask's answer are retried under one client token for retryForMs, then named as transient", async () => {
    fake.runTaskFailures = () => [
      { arn: "arn:aws:ecs:us-east-1:123456789012:container-instance/flows/abc", reason: "RESOURCE:MEMORY" },
    ];
    const error = await infra()
      .submit(jobSpec({ image: "etl:1", cluster: "flows", ...network }))
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as InfrastructureError).message).toMatch(
      /^ECS could not start a task on cluster "flows": RESOURCE:MEMORY for arn:aws:ecs:us-east-1:123456789012:container-instance\/flows\/abc \(retried for \d+ s\)$/,
    );
    expect((error as InfrastructureError).transient).toBe(true);
    const attempts = fake.bodiesOf("RunTask");
    expect(attempts.length).toBeGreaterThan(2);
    expect(new Set(attempts.map((b) => b["clientToken"])).size).toBe(1);
  });

  it("awsvpc without subnets, refused before RunTask naming the job variable", async () => {
    await expect(infra().submit(jobSpec({ image: "etl:1" }))).rejects.toThrow(
      `job variable "subnets": Fargate tasks use awsvpc networking, which needs at least one subnet`,
    );
    expect(fake.bodiesOf("RunTask")).toEqual([]);
  });
});

describe("ecs job variables ECS would refuse are refused before RunTask, naming the variable", () => {
  const refused = (variables: Record<string, unknown>) => () => ecsJobSettings(jobSpec(variables));

  it("container overrides over 8,192 characters", () => {
    expect(refused({ image: "etl:1", ...network, env: { BIG: "x".repeat(8_200) } })).toThrow(
      /^job variables "env" and "command": the task's container overrides are 8,\d{3} characters; ECS accepts at most 8,192/,
    );
    // Just under the limit is sent, and the fake (like ECS) takes it.
    expect(() =>
      ecsJobSettings(jobSpec({ image: "etl:1", ...network, env: { BIG: "x".repeat(7_700) } })),
    ).not.toThrow();
  });

  it("tags ECS refuses: reserved prefix, bad characters, lengths", () => {
    expect(refused({ image: "etl:1", ...network, tags: { "aws:team": "data" } })).toThrow(
      'job variable "tags": tag "aws:team" is not valid for ECS (the "aws:" prefix is reserved)',
    );
    expect(refused({ image: "etl:1", ...network, tags: { team: "data;drop" } })).toThrow(
      'job variable "tags": tag "team" is not valid for ECS (letters, digits, spaces and _ . : / = + - @ only)',
    );
    expect(refused({ image: "etl:1", ...network, tags: { ["k".repeat(129)]: "v" } })).toThrow(
      "keys are 1 to 128 characters",
    );
  });

  it("launch type and network combinations", () => {
    expect(refused({ image: "etl:1", launch_type: "EC2", assign_public_ip: true, ...network })).toThrow(
      'job variable "assign_public_ip": ECS assigns public IPs only to Fargate tasks',
    );
    expect(refused({ image: "etl:1", launch_type: "EXTERNAL", ...network })).toThrow(
      'job variable "launch_type": EXTERNAL does not support the awsvpc network mode',
    );
    expect(refused({ image: "etl:1", launch_type: "EC2" })).toThrow('job variable "subnets"');
    // An EC2 task definition of its own may use bridge networking: no subnets needed.
    expect(() =>
      ecsJobSettings(
        jobSpec({ task_definition_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/x:1", launch_type: "EC2" }),
      ),
    ).not.toThrow();
  });

  it("the fake refuses the same requests when they reach it, as ECS does", async () => {
    const ecs = new ECSClient({ endpoint: fake.url, maxAttempts: 1 });
    await infra().submit(jobSpec({ image: "etl:1", ...network }));
    const taskDefinition = String(fake.bodiesOf("RunTask")[0]!["taskDefinition"]);
    const run = (input: Record<string, unknown>) =>
      ecs.send(new RunTaskCommand({ taskDefinition, launchType: "FARGATE", ...input }));
    const vpc = { awsvpcConfiguration: { subnets: ["subnet-0a1b"] } };
    await expect(
      run({
        networkConfiguration: vpc,
        overrides: {
          containerOverrides: [{ name: "flowplane", environment: [{ name: "BIG", value: "x".repeat(8_200) }] }],
        },
      }),
    ).rejects.toThrow("Container Overrides length must be at most 8192");
    await expect(run({ networkConfiguration: vpc, tags: [{ key: "aws:x", value: "1" }] })).rejects.toThrow(
      "Invalid tag key: aws:x",
    );
    await expect(
      run({
        launchType: "EC2",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0a1b"], assignPublicIp: "ENABLED" } },
      }),
    ).rejects.toThrow("Assign public IP is not supported for this launch type.");
    await expect(
      ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "no-role",
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: "256",
          memory: "512",
          containerDefinitions: [
            {
              name: "c",
              image: "etl:1",
              logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "g" } },
            },
          ],
        }),
      ),
    ).rejects.toThrow("Fargate requires task definition to have execution role ARN to support log driver awslogs.");
    // Without an execution role the worker registers no awslogs configuration, so ECS takes it.
    expect(
      fake
        .bodiesOf("RegisterTaskDefinition")
        .filter((b) => String(b["family"]).startsWith("flowplane-"))
        .every(
          (b) =>
            b["executionRoleArn"] ||
            !(b["containerDefinitions"] as { logConfiguration?: unknown }[])[0]!.logConfiguration,
        ),
    ).toBe(true);
  });
});

describe("ecs transient errors are retried, not terminal", () => {
  it("throttling, a 5xx and expired credentials on RunTask: retried with backoff under one client token, one task starts", async () => {
    fake.fail("RunTask", ECS_FAULTS.throttling, 2);
    fake.fail("RunTask", ECS_FAULTS.server, 1);
    fake.fail("RunTask", ECS_FAULTS.expiredToken, 1);
    const tasksBefore = fake.taskArns().length;
    const job = jobSpec({ image: "etl:1", ...network });
    const events: string[] = [];
    const running = await infra({ retryForMs: 5_000 }).submit({ ...job, onEvent: (m) => events.push(m) });
    expect(await running.exited).toEqual({ exitCode: 0, reason: "exited with code 0", stopped: false });
    const attempts = fake.bodiesOf("RunTask");
    expect(attempts).toHaveLength(5);
    expect(new Set(attempts.map((b) => b["clientToken"])).size).toBe(1);
    expect(fake.taskArns()).toHaveLength(tasksBefore + 1);
    expect(events).toEqual([
      expect.stringMatching(
        /^ECS RunTask on cluster "default": ThrottlingException: Rate exceeded; retry 1 in \d+\.\d s$/,
      ),
      expect.stringMatching(/: ThrottlingException: Rate exceeded; retry 2 in /),
      expect.stringMatching(/: ServerException: Service encountered an internal error\.; retry 3 in /),
      expect.stringMatching(
        /: ExpiredTokenException: The security token included in the request is expired; retry 4 in /,
      ),
    ]);
  });

  it("a RunTask whose answer was lost is retried with the same client token, and ECS answers the task it started (no second task)", async () => {
    // The fake starts the task, then the client sees a 5xx: ECS's idempotency makes the retry safe.
    const first = await infra().submit(jobSpec({ image: "etl:1", ...network }));
    const token = String(fake.bodiesOf("RunTask")[0]!["clientToken"]);
    const ecs = new ECSClient({ endpoint: fake.url, maxAttempts: 1 });
    const again = await ecs.send(
      new RunTaskCommand({
        ...(fake.bodiesOf("RunTask")[0] as object),
        clientToken: token,
      } as ConstructorParameters<typeof RunTaskCommand>[0]),
    );
    expect(again.tasks?.[0]?.taskArn).toBe(first.id);
    expect(fake.taskArns().at(-1)).toBe(first.id);
    expect(fake.taskArns().filter((arn) => arn === first.id)).toHaveLength(1);
    await first.exited;
  });

  it("throttled and failing DescribeTasks while the task runs: the watch keeps going and reports how the task ended", async () => {
    fake.outcome = () => ({ kind: "exit", exitCode: 3, runningPolls: 5 });
    const running = await infra({ lostAfterMs: 5_000 }).submit(jobSpec({ image: "etl:1", ...network }));
    fake.fail("DescribeTasks", ECS_FAULTS.throttling, 10);
    fake.fail("DescribeTasks", ECS_FAULTS.server, 10);
    expect(await running.exited).toEqual({ exitCode: 3, reason: "exited with code 3", stopped: false });
  });

  it("lost track: while the runner heartbeats the watch goes on; once it is silent too, the task is stopped and the exit says so", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped" });
    const job = jobSpec({ image: "etl:1", ...network });
    let asked = 0;
    const events: string[] = [];
    const running = await infra({ lostAfterMs: 100 }).submit({
      ...job,
      runnerAlive: async () => ++asked <= 2,
      onEvent: (m) => events.push(m),
    });
    await new Promise((r) => setTimeout(r, 100));
    fake.fail("DescribeTasks", ECS_FAULTS.server, 1_000_000);
    const result = await running.exited;
    expect(result).toEqual({
      exitCode: null,
      reason: `lost track of ECS task ${running.id}: ServerException: Service encountered an internal error.`,
      stopped: false,
      lost: true,
    });
    expect(asked).toBe(3);
    expect(events.filter((e) => e.includes("the runner still heartbeats, so the worker keeps watching"))).toHaveLength(
      2,
    );
    expect(fake.bodiesOf("StopTask")).toEqual([
      {
        cluster: `arn:aws:ecs:us-east-1:123456789012:cluster/default`,
        task: running.id,
        reason: "Flowplane: the worker lost track of this task",
      },
    ]);
  });
});

describe("ecs tasks that never start or never finish end with the real reason, in bounded time", () => {
  it("a task ECS stops while PROVISIONING ends with ECS's stop reason", async () => {
    fake.outcome = () => ({
      kind: "fail-to-start",
      provisioningMs: 50,
      stoppedReason: "Timeout waiting for network interface provisioning to complete.",
    });
    const running = await infra().submit(jobSpec({ image: "etl:1", ...network }));
    expect(await running.exited).toEqual({
      exitCode: null,
      reason: "task failed to start: Timeout waiting for network interface provisioning to complete.",
      stopped: false,
    });
  });

  it("a task kept PROVISIONING past the job's start_timeout_seconds is stopped within it, and the run ends saying so with ECS's stop reason", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped", provisioningMs: Number.POSITIVE_INFINITY });
    const events: string[] = [];
    const job = jobSpec({ image: "etl:1", ...network }, { start_timeout_seconds: 1 });
    // The pool's own default is far longer: the job variable is what bounds the start.
    const started = Date.now();
    const running = await infra({ startTimeoutMs: 60_000, pollIntervalMs: 50 }).submit({
      ...job,
      onEvent: (m) => events.push(m),
    });
    const result = await running.exited;
    const elapsed = Date.now() - started;
    expect(result).toEqual({
      exitCode: null,
      reason:
        "ECS task did not reach RUNNING within 1 s (last status PROVISIONING); task stopped: Flowplane: ECS task did not reach RUNNING within 1 s (last status PROVISIONING)",
      stopped: false,
    });
    // Stopped at the deadline: one poll to notice, one for ECS to report it STOPPED.
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
    expect(elapsed).toBeLessThan(1_000 + 1_000);
    expect(fake.taskOf(running.id)!["lastStatus"]).toBe("STOPPED");
    expect(fake.bodiesOf("StopTask")).toEqual([
      {
        cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/default",
        task: running.id,
        reason: "Flowplane: ECS task did not reach RUNNING within 1 s (last status PROVISIONING)",
      },
    ]);
    expect(events).toEqual(["ECS task did not reach RUNNING within 1 s (last status PROVISIONING); stopping it"]);
  });

  it("without start_timeout_seconds in the template the pool's startTimeoutMs applies; one that is not positive is refused", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped", provisioningMs: Number.POSITIVE_INFINITY });
    const job = jobSpec({ image: "etl:1", ...network });
    delete job.configuration["start_timeout_seconds"];
    expect(ecsJobSettings(job).startTimeoutMs).toBeNull();
    const result = await (await infra({ startTimeoutMs: 200 }).submit(job)).exited;
    expect(result.reason).toMatch(/^ECS task did not reach RUNNING within 0\.2 s \(last status PROVISIONING\)/);
    expect(ecsJobSettings(jobSpec({ image: "etl:1", ...network }, { start_timeout_seconds: 45 })).startTimeoutMs).toBe(
      45_000,
    );
    expect(() => ecsJobSettings(jobSpec({ image: "etl:1", ...network }, { start_timeout_seconds: 0 }))).toThrow(
      'job configuration "start_timeout_seconds": expected a number > 0, got 0',
    );
  });
});

describe("ecs pool through the Worker", () => {
  let server: TestServer;
  beforeAll(async () => {
    // A worker silent for one heartbeat interval goes OFFLINE (a restart under a new name).
    server = await startTestServer({ missedWorkerHeartbeats: 1, livenessIntervalMs: 200 });
    await createPool(server, "ecs-pool", "ecs", {
      "bad-cluster": { image: "etl:1", cluster: "no-such-cluster", ...network },
      long: { image: "etl:1", ...network },
      streamed: {
        image: "etl:1",
        stream_output: true,
        execution_role_arn: "arn:aws:iam::123456789012:role/flowplane-flow-run-execution",
        ...network,
      },
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it("ends a run on a missing cluster CRASHED with a message naming the cluster", async () => {
    const run = await server.api.deployments.run.mutate({ name: "hello/bad-cluster" });
    const final = await runOnce(server, run.id, { poolName: "ecs-pool", infrastructure: infra() });
    expect(final.state.type).toBe("CRASHED");
    expect(final.state.message).toBe(
      'infrastructure could not start: ECS cluster "no-such-cluster" not found (ClusterNotFoundException: Cluster not found.)',
    );
  });

  it("stream_output: the task's CloudWatch lines reach the run's logs in order, and a worker shutdown stops the follower after the final drain", async () => {
    const printed = ["alpha", "beta", "gamma", "delta", "epsilon"];
    fake.outcome = () => ({ kind: "run-until-stopped", output: printed });
    const run = await server.api.deployments.run.mutate({ name: "hello/streamed" });
    const worker = startWorker(server, { poolName: "ecs-pool", infrastructure: infra() });
    await waitFor("the task's first lines in the run's logs", async () =>
      (await runLogs(server, run.id)).includes("beta"),
    );
    // Shutdown (killRuns): the task is stopped, its last lines drained, and the follower ends.
    await worker.stop();
    const reads = logs.bodiesOf("GetLogEvents").length;
    await new Promise((r) => setTimeout(r, 300));
    expect(logs.bodiesOf("GetLogEvents").length).toBe(reads);
    expect((await runLogs(server, run.id)).filter((line) => printed.includes(line))).toEqual(printed);
  });

  it("stream_output and a cancel: the task is stopped, its last lines drained into the run's logs, the run CANCELLED, and the follower reads no more", async () => {
    const printed = ["one", "two", "three", "four"];
    fake.outcome = () => ({ kind: "run-until-stopped", output: printed });
    const run = await server.api.deployments.run.mutate({ name: "hello/streamed" });
    const worker = startWorker(server, { poolName: "ecs-pool", infrastructure: infra() });
    try {
      await waitFor("the task's first line in the run's logs", async () =>
        (await runLogs(server, run.id)).includes("one"),
      );
      await server.api.flowRuns.cancel.mutate({ id: run.id });
      await waitForRun(server, run.id, "CANCELLED", (r) => r.state.type === "CANCELLED", 20_000);
      const reads = logs.bodiesOf("GetLogEvents").length;
      await new Promise((r) => setTimeout(r, 300));
      expect(logs.bodiesOf("GetLogEvents").length).toBe(reads);
      expect((await runLogs(server, run.id)).filter((line) => printed.includes(line))).toEqual(printed);
    } finally {
      await worker.stop();
    }
  });

  it("passes the task the run's own run token and never the worker's key (issue 19.6)", async () => {
    fake.outcome = () => ({ kind: "exit", exitCode: 0 });
    const run = await server.api.deployments.run.mutate({ name: "hello/long" });
    await runOnce(server, run.id, { poolName: "ecs-pool", infrastructure: infra() });
    const [body] = fake.bodiesOf("RunTask");
    const overrides = body!["overrides"] as {
      containerOverrides: { environment: { name: string; value: string }[] }[];
    };
    const env = Object.fromEntries(overrides.containerOverrides[0]!.environment.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      FLOWPLANE_API_URL: server.url,
      FLOWPLANE_FLOW_RUN_ID: run.id,
      FLOWPLANE_RUN_TOKEN: expect.stringMatching(/^fpr_/) as string,
    });
    expect(env["FLOWPLANE_API_KEY"]).toBeUndefined();
    expect(JSON.stringify(fake.requests)).not.toContain(server.adminKey);
  });

  it("a run whose task cannot be created for lack of capacity goes back to SCHEDULED so it is tried again, and fails with the cause once rescheduleForSeconds has passed", async () => {
    fake.runTaskFailures = () => [
      { reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone" },
    ];
    const run = await server.api.deployments.run.mutate({ name: "hello/long" });
    const once = (rescheduleForSeconds: number) =>
      runOnce(server, run.id, {
        poolName: "ecs-pool",
        rescheduleForSeconds,
        rescheduleDelaySeconds: 0,
        infrastructure: infra(),
      });
    const requeued = await once(600);
    expect(requeued.state.type).toBe("SCHEDULED");
    expect(requeued.state.message).toMatch(
      /^infrastructure could not be created: ECS could not start a task on cluster "default": Capacity is unavailable at this time\. Please try again later or in a different availability zone \(retried for \d+ s\); rescheduled for \S+$/,
    );
    const failed = await once(0);
    expect(failed.state.type).toBe("FAILED");
    expect(failed.state.message).toMatch(
      /^infrastructure could not be created for \d+ s: ECS could not start a task on cluster "default": Capacity is unavailable/,
    );
    expect(await runLogs(server, run.id)).toContainEqual(
      expect.stringMatching(
        /^Flowplane worker: ECS RunTask on cluster "default": ECS could not start a task .*; retry 1 in /,
      ),
    );
  });

  it("cancel after a restart under the same name stops the task from its stored ARN, and only then reads CANCELLED (regression: CANCELLED while the task kept running)", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped" });
    const { final, job } = await cancelAfterRestart(server, {
      poolName: "ecs-pool",
      deployment: "hello/long",
      launcher: "ecs-same",
      successor: "ecs-same",
      infrastructure: () => infra(),
    });
    expect(fake.bodiesOf("StopTask")).toEqual([
      { cluster: "default", task: job.id, reason: "Flowplane: flow run cancelled" },
    ]);
    const task = fake.taskOf(job.id)!;
    expect(task["lastStatus"]).toBe("STOPPED");
    expect(Number(task["stoppedAt"]) * 1000).toBeLessThanOrEqual(Date.parse(final.state.timestamp));
  });

  it("cancel after a restart under a new name: a live worker of the pool stops the task its OFFLINE launcher left (regression: CANCELLING for ever, or CANCELLED by the liveness sweep with the task running)", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped" });
    const { job } = await cancelAfterRestart(server, {
      poolName: "ecs-pool",
      deployment: "hello/long",
      launcher: "ecs-before",
      successor: "ecs-after",
      infrastructure: () => infra(),
      beforeSuccessor: async (runId) => {
        // Sweeps ran with the launcher offline: the run still waits for its task to be stopped.
        await new Promise((r) => setTimeout(r, 500));
        expect((await server.api.flowRuns.get.query({ id: runId })).state.type).toBe("CANCELLING");
        expect(fake.bodiesOf("StopTask")).toEqual([]);
      },
    });
    expect(fake.taskOf(job.id)!["lastStatus"]).toBe("STOPPED");
  });

  it("a failing StopTask is retried and logged on the run, the run ends CANCELLED once ECS stops the task, and the worker keeps serving (regression: StopTask errors were swallowed)", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped" });
    const { infrastructureId, logs } = await cancelThroughFailingStops(
      server,
      { poolName: "ecs-pool", deployment: "hello/long", workerName: "ecs-canceller", infrastructure: infra() },
      // More failures than one stop's own retries (retryForMs) absorb: the worker retries later.
      () => fake.fail("StopTask", ECS_FAULTS.server, 12),
    );
    expect(fake.taskOf(infrastructureId)!["lastStatus"]).toBe("STOPPED");
    expect(logs).toContainEqual(
      expect.stringMatching(
        /^Flowplane worker ecs-canceller: could not stop the run's infrastructure \(attempt 1\): could not stop ECS task arn:aws:ecs:us-east-1:123456789012:task\/default\/[0-9a-f]{32}: ServerException: Service encountered an internal error\.; retrying in \d+\.\d s$/,
      ),
    );
  });

  it("cleanupOrphans: a worker back under its name stops the tasks it launched for runs that have ended, and leaves its runs' live tasks alone", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped" });
    await restartAmongOwnJobs(
      server,
      { poolName: "ecs-pool", deployment: "hello/long", workerName: "ecs-orphans", infrastructure: () => infra() },
      async ({ live, ended }) => {
        await waitFor("the ended run's task to stop", async () => fake.taskOf(ended.id)!["lastStatus"] === "STOPPED");
        expect(fake.bodiesOf("ListTasks")).toContainEqual({ cluster: "default", startedBy: "flowplane" });
        expect(fake.taskOf(live.id)!["lastStatus"]).toBe("RUNNING");
      },
    );
  });

  for (const { how, names } of RESTARTS)
    it(`cleanupOrphans: ${how} finds the tasks a killed worker launched in another region's cluster (a run's job variables), stops those whose runs have ended, and leaves the live one alone (regression: only the template's default cluster was searched)`, async () => {
      fake.outcome = () => ({ kind: "run-until-stopped" });
      const runs = {
        poolName: "ecs-pool",
        deployment: "hello/long",
        jobVariables: { region: "eu-west-1", cluster: "flows" },
      };
      await restartAmongOwnJobs(
        server,
        { ...runs, ...names("ecs-far"), infrastructure: infra },
        async ({ live, ended }) => {
          expect(ended.id).toMatch(/^arn:aws:ecs:eu-west-1:123456789012:task\/flows\//);
          await waitFor("the ended run's task to stop", async () => fake.taskOf(ended.id)!["lastStatus"] === "STOPPED");
          expect(fake.requests).toContainEqual(
            expect.objectContaining({
              action: "ListTasks",
              region: "eu-west-1",
              body: { cluster: "flows", startedBy: "flowplane" },
            }),
          );
          expect(fake.taskOf(live.id)!["lastStatus"]).toBe("RUNNING");
        },
      );
    });
});

describe("ecs slow starts never mean two executions", () => {
  let server: TestServer;
  beforeAll(async () => {
    // A claim lasts 1 s unless extended; the liveness sweep releases expired claims every 200 ms.
    server = await startTestServer({ claimTimeoutSeconds: 1, livenessIntervalMs: 200 });
    await createPool(server, "ecs-slow", "ecs", { slow: { image: "etl:1", ...network } });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it("a task PROVISIONING for longer than the claim timeout: the claim is extended, no second worker launches it, and the run keeps one PENDING", async () => {
    fake.outcome = () => ({ kind: "exit", exitCode: 0, provisioningMs: 3_000 });
    const before = fake.taskArns().length;
    const first = startWorker(server, { poolName: "ecs-slow", name: "slow-a", infrastructure: infra() });
    const second = startWorker(server, { poolName: "ecs-slow", name: "slow-b", infrastructure: infra() });
    try {
      const run = await server.api.deployments.run.mutate({ name: "hello/slow" });
      const final = await waitForRun(server, run.id, "ended", (r) => r.state.type === "CRASHED", 20_000);
      // No runner in the fake task: the one attempt's worker reports how its task ended.
      expect(final.state.message).toBe("infrastructure exited with code 0 without reporting a final state");
      expect(fake.taskArns().length - before).toBe(1);
      const history = await server.api.flowRuns.history.query({ id: run.id });
      expect(history.map((s) => s.type)).toEqual(["SCHEDULED", "PENDING", "CRASHED"]);
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it("settle() acts only on its own attempt: a worker whose run was released and launched elsewhere leaves the new attempt alone when its own task exits", async () => {
    let launches = 0;
    fake.outcome = () =>
      ++launches === 1 ? { kind: "exit", exitCode: 0, provisioningMs: 1_500 } : { kind: "run-until-stopped" };
    const first = startWorker(server, { poolName: "ecs-slow", name: "zombie-a", infrastructure: infra() });
    let second: ReturnType<typeof startWorker> | null = null;
    try {
      const run = await server.api.deployments.run.mutate({ name: "hello/slow" });
      const launched = await waitForRun(server, run.id, "launched", (r) => r.infrastructureId !== null, 20_000);
      // The claim is released behind the first worker's back (as an expired claim would be).
      await server.api.flowRuns.setState.mutate({
        id: run.id,
        state: { type: "SCHEDULED", message: "released by the test" },
      });
      await first.worker.stop();
      second = startWorker(server, { poolName: "ecs-slow", name: "winner-b", infrastructure: infra() });
      const relaunched = await waitForRun(
        server,
        run.id,
        "launched again",
        (r) => r.infrastructureId !== null && r.infrastructureId !== launched.infrastructureId,
        20_000,
      );
      // The first task exits (no runner): its worker must not crash the winner's run.
      await waitFor(
        "the first task to stop",
        async () => fake.taskOf(launched.infrastructureId!)!["lastStatus"] === "STOPPED",
      );
      await new Promise((r) => setTimeout(r, 500));
      const now = await server.api.flowRuns.get.query({ id: run.id });
      expect(now.state.type).toBe("PENDING");
      expect(now.infrastructureId).toBe(relaunched.infrastructureId);
      await server.api.flowRuns.cancel.mutate({ id: run.id });
      await waitForRun(server, run.id, "CANCELLED", (r) => r.state.type === "CANCELLED", 20_000);
    } finally {
      await first.stop();
      await second?.stop();
    }
  });
});
