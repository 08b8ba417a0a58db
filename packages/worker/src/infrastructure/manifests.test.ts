// infra/ grants workers what the pools actually call — checked against the requests the real clients
// send to the fakes, so a new API call without its permission fails here rather than in a cluster.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadAllYaml, type V1Deployment, type V1Role, type V1RoleBinding } from "@kubernetes/client-node";
import { defaultBaseJobTemplate, resolveJobConfiguration, type WorkPoolType } from "@flowplane/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EcsInfrastructure } from "./ecs.ts";
import { FakeCloudWatchLogs } from "./fakes/cloudwatch-logs-api.ts";
import { FakeEcs } from "./fakes/ecs-api.ts";
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

  it("the worker's IAM policy allows every ECS and CloudWatch Logs request the ecs pool makes with the pool's defaults, on the resources and cluster it addresses", async () => {
    fake.outcome = () => ({ kind: "run-until-stopped", output: ["hello"] });
    const ecs = new EcsInfrastructure({
      endpoint: fake.url,
      logsEndpoint: logs.url,
      pollIntervalMs: 10,
      logDrainMs: 10,
    });
    const job = jobSpec("ecs", {
      image: "etl:1",
      subnets: ["subnet-1"],
      stream_output: true,
      execution_role_arn: "arn:aws:iam::123456789012:role/flowplane-flow-run-execution",
      task_role_arn: "arn:aws:iam::123456789012:role/flowplane-flow-run",
    });
    const running = await ecs.submit(job);
    await expect.poll(() => logs.requests.length).toBeGreaterThan(0);
    await running.stop(1_000);
    // A restarted worker lists what it launched; a cancel from the stored ARN stops and watches.
    await ecs.findJobs({ "flowplane.worker": "w" }, job.configuration);
    const other = await ecs.submit(job);
    await ecs.stop(other.id);
    await other.exited;

    type Statement = {
      Effect: string;
      Action: string | string[];
      Resource: string | string[];
      Condition?: { ArnEquals?: Record<string, string>; StringEquals?: Record<string, string> };
    };
    const policy = JSON.parse(
      read("ecs/worker-iam-policy.json").replaceAll("REGION", "us-east-1").replaceAll("ACCOUNT_ID", "123456789012"),
    ) as { Statement: Statement[] };
    const glob = (pattern: string, value: string) =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`).test(value);
    const clusterArn = (ref: unknown) =>
      typeof ref === "string" && ref.startsWith("arn:")
        ? ref
        : `arn:aws:ecs:us-east-1:123456789012:cluster/${typeof ref === "string" && ref ? ref : "default"}`;
    /** IAM's evaluation for what these statements use: action, resource, ecs:cluster and CreateAction conditions. */
    const allows = (action: string, resource: string, context: Record<string, string>) =>
      policy.Statement.some(
        (st) =>
          st.Effect === "Allow" &&
          [st.Action].flat().includes(action) &&
          [st.Resource].flat().some((r) => glob(r, resource)) &&
          Object.entries(st.Condition?.ArnEquals ?? {}).every(
            ([k, v]) => context[k] !== undefined && glob(v, context[k]),
          ) &&
          Object.entries(st.Condition?.StringEquals ?? {}).every(([k, v]) => context[k] === v),
      );
    const called = new Set<string>();
    for (const { action, body } of fake.requests) {
      called.add(action);
      const cluster = { "ecs:cluster": clusterArn(body["cluster"]) };
      const resource =
        action === "RunTask"
          ? String(body["taskDefinition"])
          : action === "StopTask"
            ? String(body["task"])
            : action === "DescribeTasks"
              ? String((body["tasks"] as string[])[0])
              : "*";
      const context = ["RunTask", "StopTask", "DescribeTasks", "ListTasks"].includes(action) ? cluster : {};
      expect(allows(`ecs:${action}`, resource, context), `${action} on ${resource} in ${cluster["ecs:cluster"]}`).toBe(
        true,
      );
      // Tags at launch are authorised as ecs:TagResource on the new task, with CreateAction RunTask.
      if (action === "RunTask")
        expect(
          allows("ecs:TagResource", "arn:aws:ecs:us-east-1:123456789012:task/default/x", {
            "ecs:CreateAction": "RunTask",
          }),
        ).toBe(true);
    }
    expect([...called].sort()).toEqual([
      "DescribeTaskDefinition",
      "DescribeTasks",
      "ListTasks",
      "RegisterTaskDefinition",
      "RunTask",
      "StopTask",
    ]);
    // Registering with roles needs iam:PassRole on exactly those roles.
    for (const role of fake
      .bodiesOf("RegisterTaskDefinition")
      .flatMap((b) => [b["executionRoleArn"], b["taskRoleArn"]]))
      expect(
        allows("iam:PassRole", String(role), { "iam:PassedToService": "ecs-tasks.amazonaws.com" }),
        String(role),
      ).toBe(true);
    // The policy is not wider than the default cluster.
    expect(allows("ecs:RunTask", "*", { "ecs:cluster": clusterArn("other") })).toBe(false);

    // stream_output reads the task's stream, in the log group the registered task definitions write to.
    const logStream = (body: Record<string, unknown>) =>
      `arn:aws:logs:us-east-1:123456789012:log-group:${String(body["logGroupName"])}:log-stream:${String(body["logStreamName"])}`;
    expect(new Set(logs.requests.map((r) => r.action))).toEqual(new Set(["GetLogEvents"]));
    for (const { action, body } of logs.requests)
      expect(allows(`logs:${action}`, logStream(body), {}), logStream(body)).toBe(true);
    expect(logs.bodiesOf("GetLogEvents")[0]!["logGroupName"]).toBe("/flowplane/flow-runs");
    // Only that log group.
    expect(allows("logs:GetLogEvents", logStream({ logGroupName: "/other", logStreamName: "s" }), {})).toBe(false);
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
