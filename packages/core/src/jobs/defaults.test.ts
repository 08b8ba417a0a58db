import { describe, expect, it } from "vitest";
import {
  defaultBaseJobTemplate,
  resolveJobConfiguration,
  validateBaseJobTemplate,
  WORK_POOL_TYPES,
  type WorkPoolType,
} from "./index.ts";

function resolveDefaults(
  type: WorkPoolType,
  deployment: Record<string, unknown> = {},
  run: Record<string, unknown> = {},
) {
  const r = resolveJobConfiguration(defaultBaseJobTemplate(type), deployment, run);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.configuration;
}

describe("default base job templates", () => {
  it.each(WORK_POOL_TYPES)("%s: validates", (type) => {
    expect(validateBaseJobTemplate(defaultBaseJobTemplate(type))).toEqual({
      ok: true,
      template: defaultBaseJobTemplate(type),
    });
  });

  it.each(WORK_POOL_TYPES)("%s: resolves with no variables to placeholder-free JSON", (type) => {
    const configuration = resolveDefaults(type);
    expect(JSON.stringify(configuration)).not.toContain("{{");
    expect(JSON.parse(JSON.stringify(configuration))).toEqual(configuration);
    expect(configuration.env).toEqual({});
    expect(configuration.command).toBeNull();
  });

  it.each(WORK_POOL_TYPES)("%s: merges env and accepts a command as a string or argv", (type) => {
    const configuration = resolveDefaults(
      type,
      { env: { A: "1" }, command: "node main.js" },
      { env: { B: "2" }, command: ["node", "x.js"] },
    );
    expect(configuration.env).toEqual({ A: "1", B: "2" });
    expect(configuration.command).toEqual(["node", "x.js"]);
  });

  // What a null command means is part of each pool's contract: the container pools agree, so a
  // deployment moves between them unchanged.
  it.each([
    ["process", "null: the worker's own runner command."],
    ["docker", "null: the image's own command (the flowplane image's CMD runs the flow-run runner)."],
    ["ecs", "null: the image's own command (the flowplane image's CMD runs the flow-run runner)."],
    ["kubernetes", "null: the image's own command (the flowplane image's CMD runs the flow-run runner)."],
  ] as const)("%s: says what runs without a command", (type, byDefault) => {
    expect(defaultBaseJobTemplate(type).variables.properties?.command?.description).toContain(byDefault);
  });

  it("process: defaults", () => {
    expect(resolveDefaults("process")).toEqual({
      command: null,
      env: {},
      working_dir: null,
      stream_output: true,
      labels: {},
    });
  });

  it("docker: defaults", () => {
    expect(resolveDefaults("docker")).toEqual({
      image: "flowplane/flowplane:latest",
      command: null,
      env: {},
      labels: {},
      network_mode: "host",
      volumes: [],
      mem_limit: null,
      cpus: null,
      auto_remove: true,
      image_pull_policy: "if-not-present",
      start_timeout_seconds: 240,
      stream_output: true,
    });
  });

  it("docker: refuses an unknown pull policy", () => {
    const r = resolveJobConfiguration(defaultBaseJobTemplate("docker"), { image_pull_policy: "IfNotPresent" }, {});
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: "job_variables.image_pull_policy",
        message: 'expected one of "never", "if-not-present", "always", got "IfNotPresent"',
        source: "deployment",
      },
    ]);
  });

  it("ecs: defaults follow the ECS API (cpu and memory as text)", () => {
    expect(resolveDefaults("ecs")).toMatchObject({
      cpu: "1024",
      memory: "2048",
      launch_type: "FARGATE",
      capacity_provider_strategy: null,
      subnets: [],
      security_groups: [],
      assign_public_ip: false,
      task_definition_arn: null,
      region: null,
      container_name: "flowplane",
      tags: {},
      start_timeout_seconds: 240,
      stream_output: false,
    });
    expect(resolveDefaults("ecs", { cpu: 512, tags: { a: "1" } }, { tags: { b: "2" } })).toMatchObject({
      cpu: 512,
      tags: { a: "1", b: "2" },
    });
  });

  it("kubernetes: defaults, with backoffLimit fixed at 0 and the TTL under the Job's field name", () => {
    const configuration = resolveDefaults("kubernetes");
    expect(configuration).toMatchObject({
      namespace: "default",
      image_pull_policy: "IfNotPresent",
      ttl_seconds_after_finished: 60,
      backoff_limit: 0,
      cpu_request: null,
      memory_limit: null,
      service_account_name: null,
    });
    expect(configuration).not.toHaveProperty("finished_job_ttl");
    expect(resolveDefaults("kubernetes", { finished_job_ttl: 600 }).ttl_seconds_after_finished).toBe(600);
  });

  it("kubernetes: backoff_limit is not a variable", () => {
    const r = resolveJobConfiguration(defaultBaseJobTemplate("kubernetes"), { backoff_limit: 3 }, {});
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(["job_variables.backoff_limit"]);
  });

  it("returns a fresh copy each call", () => {
    const a = defaultBaseJobTemplate("docker");
    (a.variables.properties.env as { default: Record<string, string> }).default.X = "1";
    expect(defaultBaseJobTemplate("docker").variables.properties.env?.default).toEqual({});
    expect(defaultBaseJobTemplate("process").variables.properties.env?.default).toEqual({});
  });
});
