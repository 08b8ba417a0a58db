// infra/ grants workers what the pools actually call — checked against the requests the real clients
// send to the fakes, so a new API call without its permission fails here rather than in a cluster.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ECSClient, RegisterTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { loadAllYaml, type V1Deployment, type V1Role, type V1RoleBinding } from "@kubernetes/client-node";
import { defaultBaseJobTemplate, resolveJobConfiguration, type WorkPoolType } from "@flowplane/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EcsInfrastructure } from "./ecs.ts";
import { FakeCloudWatchLogs } from "./fakes/cloudwatch-logs-api.ts";
import { FakeEcs } from "./fakes/ecs-api.ts";
import { loadPolicy, policyAllows, type IamRequest } from "./fakes/iam-policy.ts";
import { FakeKubernetes, kubeConfigFor } from "./fakes/kubernetes-api.ts";
import { KubernetesInfrastructure } from "./kubernetes.ts";
import type { JobSpec } from "./types.ts";

const infra = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../infra");
const read = (file: string) => readFileSync(path.join(infra, file), "utf8");

function jobSpec(type: WorkPoolType, variables: Record<string, unknown>): JobSpec {
  const resolved = resolveJobConfiguration(defaultBaseJobTemplate(type), variables, {});
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  return {
    flowRunId: "r1",
    flowRunName: "r1",
    configuration: resolved.configuration,
    env: {},
    defaultCommand: [],
    labels: { "flowplane.run-id": "r1" },
    onOutput: () => {},
  };
}

describe("infra/kubernetes", () => {
  const objects = ["namespace.yaml", "serviceaccount.yaml", "role.yaml", "rolebinding.yaml", "deployment.yaml"].flatMap(
    (f) => loadAllYaml(read(`kubernetes/${f}`)) as { kind: string }[],
  );
  const role = objects.find((o) => o.kind === "Role") as V1Role;
  let fake: FakeKubernetes;
  beforeAll(async () => {
    fake = await FakeKubernetes.start();
  });
  afterAll(async () => {
    await fake?.close();
  });

  it("the worker's Role allows every request the kubernetes pool makes, in its namespace only", async () => {
    const kc = kubeConfigFor(fake.url, "t");
    fake.plan = () => ({ kind: "run-until-deleted", logs: ["hi"] });
    const kubernetes = new KubernetesInfrastructure({ kubeConfig: kc, pollIntervalMs: 10 });
    const running = await kubernetes.submit(jobSpec("kubernetes", { namespace: "flowplane", image: "etl:1" }));
    await new Promise((r) => setTimeout(r, 100));
    await running.stop(1_000);
    // A start that fails reads the Job and the events; a restarted worker lists its Jobs; a cancel
    // from the stored id deletes and watches.
    fake.plan = () => ({ kind: "no-pod", message: 'pods "x" is forbidden: exceeded quota: compute' });
    await (
      await kubernetes.submit(
        jobSpec("kubernetes", { namespace: "flowplane", image: "etl:1", pod_watch_timeout_seconds: 0 }),
      )
    ).exited;
    await kubernetes.findJobs({ "flowplane.worker": "w" }, { namespace: "flowplane" });
    fake.plan = () => ({ kind: "run-until-deleted" });
    const other = await kubernetes.submit(jobSpec("kubernetes", { namespace: "flowplane", image: "etl:1" }));
    await kubernetes.stop(other.id);
    await other.exited;
    const needed = new Set(
      fake.requests.map((r) => {
        const m = /^\/(?:apis\/(batch)\/v1|api\/v1)\/namespaces\/([^/]+)\/(jobs|pods|events)(\/[^/]+)?(\/log)?$/.exec(
          r.path,
        );
        expect(m, r.path).not.toBeNull();
        expect(m![2]).toBe(role.metadata!.namespace);
        const resource = `${m![3]}${m![5] ?? ""}`;
        const verb = { POST: "create", DELETE: "delete", GET: m![4] ? "get" : "list" }[r.method]!;
        return `${m![1] ?? ""}|${resource}|${verb}`;
      }),
    );
    expect([...needed].sort()).toEqual([
      "batch|jobs|create",
      "batch|jobs|delete",
      "batch|jobs|get",
      "batch|jobs|list",
      "|events|list",
      "|pods/log|get",
      "|pods|list",
    ]);
    const granted = new Set(
      role.rules!.flatMap((rule) =>
        rule.apiGroups!.flatMap((g) => rule.resources!.flatMap((res) => rule.verbs.map((v) => `${g}|${res}|${v}`))),
      ),
    );
    for (const n of needed) expect(granted, n).toContain(n);
    // Nothing beyond what the pool calls.
    expect([...granted].sort()).toEqual([...needed, "|pods|get"].sort());
  });

  it("binds that Role to the worker's ServiceAccount, which the Deployment runs as", () => {
    const binding = objects.find((o) => o.kind === "RoleBinding") as V1RoleBinding;
    const deployment = objects.find((o) => o.kind === "Deployment") as V1Deployment;
    const namespace = role.metadata!.namespace;
    expect(binding.metadata!.namespace).toBe(namespace);
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata!.name });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "flowplane-worker", namespace }]);
    expect(deployment.metadata!.namespace).toBe(namespace);
    expect(deployment.spec!.template.spec!.serviceAccountName).toBe("flowplane-worker");
    const container = deployment.spec!.template.spec!.containers[0]!;
    expect(container.command!.slice(0, 4)).toEqual(["flowplane", "worker", "start", "--pool"]);
    expect(container.env!.find((e) => e.name === "FLOWPLANE_API_KEY")!.valueFrom!.secretKeyRef).toEqual({
      name: "flowplane-worker",
      key: "api-key",
    });
    expect(objects.filter((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")).toEqual([]);
  });
});

describe("infra/ecs", () => {
  let fake: FakeEcs;
  let logs: FakeCloudWatchLogs;
  const saved = { ...process.env };
  const where = { region: "us-east-1", account: "123456789012" };
  const workerPolicy = () => loadPolicy(read("ecs/worker-iam-policy.json"), where);
  const executionPolicy = () => loadPolicy(read("ecs/flow-run-execution-policy.json"), where);
  const roles = {
    execution_role_arn: "arn:aws:iam::123456789012:role/flowplane-flow-run-execution",
    task_role_arn: "arn:aws:iam::123456789012:role/flowplane-flow-run",
  };
  const cluster = (name: string) => `arn:aws:ecs:us-east-1:123456789012:cluster/${name}`;
  beforeAll(async () => {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "AKIATEST",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
    });
    fake = await FakeEcs.start();
    logs = await FakeCloudWatchLogs.start();
    fake.logs = logs;
  });
  afterAll(async () => {
    await fake?.close();
    await logs?.close();
    process.env = saved;
  });

  /**
   * The IAM requests behind one ECS request, as ECS authorises them: RunTask on the task definition's
   * ARN, StopTask and DescribeTasks on each task's ARN, all with the ecs:cluster the request names
   * (the account's default cluster when it names none).
   */
  const iamRequestsOf = (action: string, body: Record<string, unknown>): IamRequest[] => {
    const ref = typeof body["cluster"] === "string" ? body["cluster"] : "default";
    const context = { "ecs:cluster": ref.startsWith("arn:") ? ref : cluster(ref) };
    switch (action) {
      case "RunTask":
        return [{ action: "ecs:RunTask", resource: String(body["taskDefinition"]), context }];
      case "StopTask":
        return [{ action: "ecs:StopTask", resource: String(body["task"]), context }];
      case "DescribeTasks":
        return (body["tasks"] as string[]).map((task) => ({ action: "ecs:DescribeTasks", resource: task, context }));
      case "ListTasks":
        return [{ action: "ecs:ListTasks", resource: "*", context }];
      default:
        return [{ action: `ecs:${action}`, resource: "*" }];
    }
  };

  it("the worker's IAM policy allows each request the ecs pool makes on the resources it names, and refuses other families and other clusters' tasks", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped", output: ["hello"] });
    const ecs = new EcsInfrastructure({
      endpoint: fake.url,
      logsEndpoint: logs.url,
      pollIntervalMs: 10,
      logDrainMs: 10,
    });
    const job = jobSpec("ecs", { image: "etl:1", subnets: ["subnet-1"], stream_output: true, ...roles });
    const running = await ecs.submit(job);
    await expect.poll(() => logs.requests.length).toBeGreaterThan(0);
    await running.stop(1_000);
    // A restarted worker lists what it launched; a cancel from the stored ARN stops and watches.
    await ecs.findJobs({ "flowplane.worker": "w" }, job.configuration);
    const other = await ecs.submit(job);
    await ecs.stop(other.id);
    await other.exited;

    const policy = workerPolicy();
    const requests = fake.requests.flatMap(({ action, body }) => iamRequestsOf(action, body));
    for (const request of requests) expect(policyAllows(policy, request), JSON.stringify(request)).toBe(true);
    expect([...new Set(requests.map((r) => r.action))].sort()).toEqual([
      "ecs:DescribeTaskDefinition",
      "ecs:DescribeTasks",
      "ecs:ListTasks",
      "ecs:RegisterTaskDefinition",
      "ecs:RunTask",
      "ecs:StopTask",
    ]);
    // The resources are the real ones: a registered family's revision, the default cluster's tasks.
    const runs = requests.filter((r) => r.action === "ecs:RunTask");
    for (const r of runs)
      expect(r.resource).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task-definition\/flowplane-[0-9a-f]{16}:1$/);
    const taskRequests = requests.filter((r) => r.action === "ecs:StopTask" || r.action === "ecs:DescribeTasks");
    for (const r of taskRequests)
      expect(r.resource).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task\/default\/[0-9a-f]+$/);
    // Tags at launch are authorised as ecs:TagResource on the new task, with CreateAction RunTask.
    for (const task of fake.taskArns())
      expect(
        policyAllows(policy, { action: "ecs:TagResource", resource: task, context: { "ecs:CreateAction": "RunTask" } }),
      ).toBe(true);
    // Registering with roles needs iam:PassRole on exactly those roles.
    for (const role of fake
      .bodiesOf("RegisterTaskDefinition")
      .flatMap((b) => [b["executionRoleArn"], b["taskRoleArn"]]))
      expect(
        policyAllows(policy, {
          action: "iam:PassRole",
          resource: String(role),
          context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
        }),
        String(role),
      ).toBe(true);

    // Another team's task definition, with its task role, is refused: the pool's RunTask of it too.
    const foreign = await new ECSClient({ endpoint: fake.url }).send(
      new RegisterTaskDefinitionCommand({
        family: "payments-etl",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        taskRoleArn: "arn:aws:iam::123456789012:role/payments",
        containerDefinitions: [{ name: "flowplane", image: "payments:1" }],
      }),
    );
    const foreignArn = foreign.taskDefinition!.taskDefinitionArn!;
    fake.requests.length = 0;
    fake.outcome = () => ({ kind: "exit", exitCode: 0 });
    await (
      await ecs.submit(jobSpec("ecs", { task_definition_arn: foreignArn, subnets: ["subnet-1"] }))
    ).exited;
    const [foreignRun] = fake.bodiesOf("RunTask").flatMap((b) => iamRequestsOf("RunTask", b));
    expect(foreignRun).toEqual({
      action: "ecs:RunTask",
      resource: "arn:aws:ecs:us-east-1:123456789012:task-definition/payments-etl:1",
      context: { "ecs:cluster": cluster("default") },
    });
    expect(policyAllows(policy, foreignRun!)).toBe(false);
    // A family that only starts like ours is someone else's too.
    expect(
      policyAllows(policy, { ...foreignRun!, resource: foreignRun!.resource.replace("payments-etl", "flowplanex") }),
    ).toBe(false);
    // Our families, but in another cluster; and another cluster's tasks.
    expect(policyAllows(policy, { ...runs[0]!, context: { "ecs:cluster": cluster("payments") } })).toBe(false);
    for (const action of ["ecs:StopTask", "ecs:DescribeTasks"])
      expect(
        policyAllows(policy, {
          action,
          resource: "arn:aws:ecs:us-east-1:123456789012:task/payments/0123abcd",
          context: { "ecs:cluster": cluster("payments") },
        }),
        action,
      ).toBe(false);
    expect(
      policyAllows(policy, { action: "ecs:ListTasks", resource: "*", context: { "ecs:cluster": cluster("payments") } }),
    ).toBe(false);

    // infra/README's way to let the pool run a task_definition_arn: its family added to the RunTask statement.
    const runStatement = policy.Statement.find((s) => [s.Action].flat().includes("ecs:RunTask"))!;
    runStatement.Resource = [
      ...[runStatement.Resource].flat(),
      "arn:aws:ecs:us-east-1:123456789012:task-definition/payments-etl:*",
    ];
    expect(policyAllows(policy, foreignRun!)).toBe(true);

    // stream_output reads the task's stream, in the log group the registered task definitions write to.
    const logStream = (body: Record<string, unknown>) =>
      `arn:aws:logs:us-east-1:123456789012:log-group:${String(body["logGroupName"])}:log-stream:${String(body["logStreamName"])}`;
    expect(new Set(logs.requests.map((r) => r.action))).toEqual(new Set(["GetLogEvents"]));
    for (const { action, body } of logs.requests)
      expect(policyAllows(policy, { action: `logs:${action}`, resource: logStream(body) }), logStream(body)).toBe(true);
    expect(logs.bodiesOf("GetLogEvents")[0]!["logGroupName"]).toBe("/flowplane/flow-runs");
    // Only that log group.
    expect(
      policyAllows(policy, {
        action: "logs:GetLogEvents",
        resource: logStream({ logGroupName: "/other", logStreamName: "s" }),
      }),
    ).toBe(false);
  });

  it("the flow-run execution role policy lets awslogs create /flowplane/flow-runs on first use and write the task's stream; AmazonECSTaskExecutionRolePolicy alone stops the task at start", async () => {
    const ecs = new EcsInfrastructure({ endpoint: fake.url, pollIntervalMs: 10 });
    const job = () => jobSpec("ecs", { image: "etl:2", subnets: ["subnet-1"], ...roles });
    logs.groups.clear();
    fake.executionRoleRequests.length = 0;
    fake.outcome = () => ({ kind: "exit", exitCode: 0, output: ["one", "two"] });
    // The AWS managed policy's logs statement: streams and events, no log groups.
    fake.executionRolePolicy = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: "*" }],
    };
    const refused = await (await ecs.submit(job())).exited;
    expect(refused).toEqual({
      exitCode: null,
      reason: expect.stringContaining(
        "task failed to start: ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log group: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/flowplane-flow-run-execution/",
      ),
      stopped: false,
    });
    expect(refused.reason).toContain(
      "is not authorized to perform: logs:CreateLogGroup on resource: arn:aws:logs:us-east-1:123456789012:log-group:/flowplane/flow-runs:log-stream: because no identity-based policy allows the logs:CreateLogGroup action",
    );
    expect(logs.groups.has("/flowplane/flow-runs")).toBe(false);

    // The shipped policy on its own grants every call the driver makes, on that group only.
    fake.executionRoleRequests.length = 0;
    fake.executionRolePolicy = executionPolicy();
    const running = await ecs.submit(job());
    expect(await running.exited).toMatchObject({ exitCode: 0 });
    const stream = `flowplane/flowplane/${running.id.split("/").at(-1)}`;
    expect(logs.messages("/flowplane/flow-runs", stream)).toEqual(["one", "two"]);
    const group = "arn:aws:logs:us-east-1:123456789012:log-group:/flowplane/flow-runs";
    expect(fake.executionRoleRequests).toEqual([
      {
        role: roles.execution_role_arn,
        action: "logs:CreateLogGroup",
        resource: `${group}:log-stream:`,
        allowed: true,
      },
      {
        role: roles.execution_role_arn,
        action: "logs:CreateLogStream",
        resource: `${group}:log-stream:${stream}`,
        allowed: true,
      },
      ...["one", "two"].map(() => ({
        role: roles.execution_role_arn,
        action: "logs:PutLogEvents",
        resource: `${group}:log-stream:${stream}`,
        allowed: true,
      })),
    ]);
    for (const action of ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"])
      expect(
        policyAllows(executionPolicy(), {
          action,
          resource: "arn:aws:logs:us-east-1:123456789012:log-group:/other:log-stream:",
        }),
        action,
      ).toBe(false);
    fake.executionRolePolicy = null;
  });

  it("the worker's task definition runs a worker with its API key from a secret", () => {
    const td = JSON.parse(read("ecs/worker-task-definition.json")) as {
      taskRoleArn: string;
      containerDefinitions: { command: string[]; secrets: { name: string }[] }[];
    };
    expect(td.taskRoleArn).toMatch(/:role\/flowplane-worker$/);
    expect(td.containerDefinitions[0]!.command.slice(0, 3)).toEqual(["flowplane", "worker", "start"]);
    expect(td.containerDefinitions[0]!.secrets.map((s) => s.name)).toEqual(["FLOWPLANE_API_KEY"]);
  });
});

describe("infra/docker-compose.yml", () => {
  it("puts the worker and its flow runs on the host network, where the server's published port is", () => {
    const [compose] = loadAllYaml(read("docker-compose.yml")) as {
      services: Record<
        string,
        {
          network_mode?: string;
          ports?: string[];
          volumes?: string[];
          environment?: Record<string, string>;
          command?: string[];
        }
      >;
    }[];
    const { server, worker, postgres } = compose!.services;
    expect(postgres).toBeDefined();
    expect(server!.ports).toEqual(["127.0.0.1:4200:4200"]);
    expect(worker!.network_mode).toBe("host");
    expect(worker!.environment!["FLOWPLANE_API_URL"]).toBe("http://127.0.0.1:4200");
    expect(worker!.volumes).toContain("/var/run/docker.sock:/var/run/docker.sock");
    expect(worker!.command!.join(" ")).toContain("--type docker");
  });
});
