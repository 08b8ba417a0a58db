// The base job template a work pool starts with when `--base-job-template` is not given.
//
// Configuration keys equal variable names, one placeholder each, so a worker reads
// `configuration.image` without knowing the template. Values a user must not change (the
// Kubernetes Job's backoffLimit) are literals in the configuration instead of variables.
import type { JsonSchema } from "./json-schema.ts";
import type { BaseJobTemplate } from "./template.ts";

export const WORK_POOL_TYPES = ["process", "docker", "ecs", "kubernetes"] as const;
export type WorkPoolType = (typeof WORK_POOL_TYPES)[number];

export function isWorkPoolType(v: unknown): v is WorkPoolType {
  return (WORK_POOL_TYPES as readonly unknown[]).includes(v);
}

/** The image docker, ECS and Kubernetes pools run when a deployment names none. */
export const DEFAULT_FLOW_RUN_IMAGE = "flowplane/flowplane:latest";

/** `byDefault`: what starts the flow run when the command is null. */
const command = (byDefault: string): JsonSchema => ({
  title: "Command",
  description:
    "Command that starts the flow run, as an argv array or one string split like a shell would (no expansion). " +
    `null: ${byDefault}.`,
  type: ["array", "string", "null"],
  items: { type: "string" },
  default: null,
});

// Container pools run the image's own command, so the same deployment runs alike on each of them and
// the container needs nothing of the worker's files.
const imageCommand = command("the image's own command (the flowplane image's CMD runs the flow-run runner)");

const env: JsonSchema = {
  title: "Environment variables",
  description:
    "Set for the flow run. Merged key by key across pool, deployment and run; null removes an inherited key.",
  type: "object",
  additionalProperties: { type: ["string", "null"] },
  default: {},
};

const labels = (what: string): JsonSchema => ({
  title: "Labels",
  description: `Labels added to the ${what}. Merged key by key like env.`,
  type: "object",
  additionalProperties: { type: "string" },
  default: {},
});

const streamOutput = (fallback: boolean, why: string): JsonSchema => ({
  title: "Stream output",
  description: why,
  type: "boolean",
  default: fallback,
});

const image = (what: string): JsonSchema => ({
  title: "Image",
  description: `Container image ${what}.`,
  type: "string",
  default: DEFAULT_FLOW_RUN_IMAGE,
});

const nullableString = (title: string, description: string): JsonSchema => ({
  title,
  description,
  type: ["string", "null"],
  default: null,
});

function template(properties: Record<string, JsonSchema>, literals: Record<string, unknown> = {}): BaseJobTemplate {
  const jobConfiguration: Record<string, unknown> = {};
  for (const name of Object.keys(properties)) jobConfiguration[name] = `{{ ${name} }}`;
  return { jobConfiguration: { ...jobConfiguration, ...literals }, variables: { type: "object", properties } };
}

function processTemplate(): BaseJobTemplate {
  return template({
    command: command("the worker's own runner command"),
    env,
    working_dir: nullableString(
      "Working directory",
      "Directory the flow run starts in; null: the worker's working directory.",
    ),
    stream_output: streamOutput(true, "Copy the process's stdout and stderr to the worker's output."),
    labels: labels("flow run's metadata"),
  });
}

function dockerTemplate(): BaseJobTemplate {
  return template({
    image: image("the flow run's container runs"),
    command: imageCommand,
    env,
    labels: labels("container"),
    // The flow run reports back to the API; on the host network a server on the worker's
    // localhost stays reachable without extra configuration.
    network_mode: {
      title: "Network mode",
      description: "Docker network mode (host, bridge, a network name).",
      type: "string",
      default: "host",
    },
    volumes: {
      title: "Volumes",
      description: 'Bind mounts as "host:container" or "host:container:ro".',
      type: "array",
      items: { type: "string" },
      default: [],
    },
    mem_limit: nullableString("Memory limit", 'Container memory limit such as "512m" or "2g"; null: no limit.'),
    cpus: {
      title: "CPUs",
      description: "CPUs the container may use, e.g. 1.5; null: no limit.",
      type: ["number", "null"],
      default: null,
    },
    auto_remove: {
      title: "Auto remove",
      description: "Remove the container once the flow run has finished.",
      type: "boolean",
      default: true,
    },
    image_pull_policy: {
      title: "Image pull policy",
      description: "never: use a local image only; if-not-present: pull when missing; always: pull before every run.",
      type: "string",
      enum: ["never", "if-not-present", "always"],
      default: "if-not-present",
    },
    start_timeout_seconds: {
      title: "Start timeout",
      description:
        "Seconds pulling the image, creating and starting the container may take before the run ends with the reason; below the server's claim timeout (300 s).",
      type: "integer",
      default: 240,
    },
    stream_output: streamOutput(true, "Copy the container's output to the worker's output."),
  });
}

function ecsTemplate(): BaseJobTemplate {
  const size = (title: string, fallback: string, units: string): JsonSchema => ({
    title,
    description: `Task ${title.toLowerCase()} in ${units}, as ECS takes it ("${fallback}"); an integer is accepted and sent as text.`,
    type: ["string", "integer"],
    default: fallback,
  });
  return template({
    region: nullableString("Region", "AWS region; null: the AWS SDK's default chain (AWS_REGION, profile…)."),
    cluster: nullableString("Cluster", "ECS cluster name or ARN; null: the account's default cluster."),
    task_definition_arn: nullableString(
      "Task definition ARN",
      "Run this existing task definition; null: register one from image, cpu, memory and the roles.",
    ),
    image: image("registered in the task definition when no task_definition_arn is given"),
    container_name: {
      title: "Container name",
      description: "Container in the task definition that runs the flow.",
      type: "string",
      default: "flowplane",
    },
    family_prefix: {
      title: "Task definition family prefix",
      description: "Prefix of the family of task definitions the worker registers.",
      type: "string",
      default: "flowplane",
    },
    cpu: size("CPU", "1024", "CPU units (1024 = 1 vCPU)"),
    memory: size("Memory", "2048", "MiB"),
    launch_type: { title: "Launch type", type: "string", enum: ["FARGATE", "EC2", "EXTERNAL"], default: "FARGATE" },
    capacity_provider_strategy: {
      title: "Capacity provider strategy",
      description: "ECS capacity provider strategy items; when set it replaces launch_type.",
      type: ["array", "null"],
      items: { type: "object" },
      default: null,
    },
    subnets: {
      title: "Subnets",
      description: "Subnet ids for awsvpc networking.",
      type: "array",
      items: { type: "string" },
      default: [],
    },
    security_groups: {
      title: "Security groups",
      description: "Security group ids for awsvpc networking.",
      type: "array",
      items: { type: "string" },
      default: [],
    },
    assign_public_ip: {
      title: "Assign public IP",
      description: "Give the task a public IP (needed in a public subnet without a NAT gateway to pull images).",
      type: "boolean",
      default: false,
    },
    execution_role_arn: nullableString("Execution role ARN", "Role ECS uses to pull the image and write logs."),
    task_role_arn: nullableString("Task role ARN", "Role the flow run's code runs as."),
    env,
    command: imageCommand,
    tags: {
      title: "Tags",
      description: "Tags on the ECS task. Merged key by key like env.",
      type: "object",
      additionalProperties: { type: "string" },
      default: {},
    },
    start_timeout_seconds: {
      title: "Start timeout",
      description:
        "Seconds the task may take to reach RUNNING (provisioning, pulling the image) before it is stopped and the run ends with ECS's stop reason; below the server's claim timeout (300 s).",
      type: "integer",
      default: 240,
    },
    // Off by default: streaming reads CloudWatch Logs, which needs an awslogs configuration and
    // IAM permissions; the flow run's own logs reach the API either way.
    stream_output: streamOutput(false, "Copy the task's CloudWatch logs to the worker's output."),
  });
}

function kubernetesTemplate(): BaseJobTemplate {
  const quantity = (title: string, example: string): JsonSchema =>
    nullableString(title, `Kubernetes quantity such as "${example}"; null: none set.`);
  const t = template(
    {
      namespace: { title: "Namespace", type: "string", default: "default" },
      image: image("the Job's pod runs"),
      image_pull_policy: {
        title: "Image pull policy",
        type: "string",
        enum: ["IfNotPresent", "Always", "Never"],
        default: "IfNotPresent",
      },
      command: imageCommand,
      env,
      labels: labels("Job and its pod"),
      service_account_name: nullableString(
        "Service account",
        "Service account the pod runs as; null: the namespace's default.",
      ),
      cpu_request: quantity("CPU request", "500m"),
      memory_request: quantity("Memory request", "512Mi"),
      cpu_limit: quantity("CPU limit", "1"),
      memory_limit: quantity("Memory limit", "1Gi"),
      finished_job_ttl: {
        title: "Finished job TTL",
        description:
          "Seconds Kubernetes keeps a finished Job before deleting it (ttlSecondsAfterFinished); null: keep it.",
        type: ["integer", "null"],
        default: 60,
      },
      pod_watch_timeout_seconds: {
        title: "Pod watch timeout",
        description:
          "Seconds to wait for the pod to start before the run ends with the reason Kubernetes gives; below the server's claim timeout (300 s).",
        type: "integer",
        default: 240,
      },
      stream_output: streamOutput(true, "Copy the pod's logs to the worker's output."),
    },
    // Retries belong to the orchestrator: a Job that restarted its own pod would run the flow a
    // second time behind the server's back.
    { backoff_limit: 0 },
  );
  // The Job field is named after Kubernetes; the variable keeps Prefect's name.
  const { finished_job_ttl: ttl, ...rest } = t.jobConfiguration;
  t.jobConfiguration = { ...rest, ttl_seconds_after_finished: ttl };
  return t;
}

/** A fresh copy each call, so a caller may edit it. */
export function defaultBaseJobTemplate(type: WorkPoolType): BaseJobTemplate {
  // The builders share schema fragments (command, env); cloning keeps one caller's edit out of
  // every other template.
  return structuredClone(buildTemplate(type));
}

function buildTemplate(type: WorkPoolType): BaseJobTemplate {
  switch (type) {
    case "process":
      return processTemplate();
    case "docker":
      return dockerTemplate();
    case "ecs":
      return ecsTemplate();
    case "kubernetes":
      return kubernetesTemplate();
    default: {
      const unreachable: never = type;
      return unreachable;
    }
  }
}
