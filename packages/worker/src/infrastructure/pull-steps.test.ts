// A deployment that delivers its code with pull steps, launched by the Worker on each container pool:
// the container gets the same runner environment on docker (the real engine), ECS (RunTask's
// overrides, through the real @aws-sdk/client-ecs against the fake) and Kubernetes (the Job,
// through the real client against the fake) — the stored pull steps, the run's id, entrypoint, API
// URL and token, and no FLOWPLANE_HOME (the image's own applies). On ECS and Kubernetes no command
// is set, so the flowplane image's own CMD (its runner bootstrap) runs them; e2e/delivery.test.ts
// runs that image on the docker pool.
//
// A job env entry that references a secret (DB_PASSWORD) is not resolved by the worker on these
// pools: its value would be in the platform's records (`docker inspect`, the Job, RunTask and
// CloudTrail). The template travels in FLOWPLANE_SECRET_ENV and the runner bootstrap resolves it
// inside the container with the run's own token.
import { createHash, randomBytes } from "node:crypto";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runnerCommand, startTestServer, type TestServer } from "../../../../e2e/harness.ts";
import { DockerInfrastructure } from "./docker.ts";
import { EcsInfrastructure, ecsJobSettings } from "./ecs.ts";
import { FakeEcs, setAwsTestEnv } from "./fakes/ecs-api.ts";
import { FakeKubernetes, kubeConfigFor } from "./fakes/kubernetes-api.ts";
import { resolvedJobSpec, runLogs, runOnce } from "./fakes/scenarios.ts";
import { KubernetesInfrastructure } from "./kubernetes.ts";

const IMAGE = process.env.FLOWPLANE_TEST_IMAGE ?? "flowplane-node:test";
const network = { subnets: ["subnet-0a1b"], security_groups: ["sg-0c2d"] };

/** What `flowplane deploy` stores for a git-delivered project (its default pull steps). */
const GIT_PULL = [
  {
    id: "clone",
    git_clone: {
      repository: "https://git.example.com/acme/etl.git",
      commit: "0123456789abcdef0123456789abcdef01234567",
      credentials: { username: "ci", password: "{{ secret.GIT_TOKEN }}" },
    },
  },
  { install_dependencies: {} },
];

/** A bundle-delivered project's pull steps, as the README's example writes them. */
const BUNDLE_PULL = [
  {
    download_bundle: {
      bucket: "acme-flow-bundles",
      key: `flowplane/bundles/${"a".repeat(64)}.tar.gz`,
      sha256: "a".repeat(64),
      region: "eu-west-1",
      access_key_id: "{{ variable.BUNDLE_KEY_ID }}",
      secret_access_key: "{{ secret.BUNDLE_SECRET }}",
    },
  },
  { install_dependencies: {} },
];

/** The value of secret DB_PASSWORD, which no request to a platform may carry. */
const canary = `canary${randomBytes(12).toString("hex")}`;
const countCanary = (value: unknown) => JSON.stringify(value).split(canary).length - 1;
const SECRET_ENV = { DB_PASSWORD: "{{ secret.DB_PASSWORD }}" };
const docker = new Docker();

let server: TestServer;
let restoreEnv: (() => void) | undefined;
let ecs: FakeEcs;
let kubernetes: FakeKubernetes;

beforeAll(async () => {
  server = await startTestServer();
  restoreEnv = setAwsTestEnv();
  [ecs, kubernetes] = await Promise.all([FakeEcs.start(), FakeKubernetes.start()]);
  await server.api.secrets.set.mutate({ name: "DB_PASSWORD", value: canary });
  const pools = {
    docker: {
      image: IMAGE,
      image_pull_policy: "never",
      // Prints the runner's environment instead of running it: what the image's runner would get.
      command: ["node", "-e", "console.log('ENV ' + JSON.stringify(process.env))"],
      // Kept, so the test can `docker inspect` it.
      auto_remove: false,
      env: SECRET_ENV,
    },
    ecs: { image: "flowplane/flowplane:0.1.0", ...network, env: SECRET_ENV },
    kubernetes: { image: "flowplane/flowplane:0.1.0", env: SECRET_ENV },
  };
  for (const [type, jobVariables] of Object.entries(pools)) {
    await server.api.workPools.create.mutate({ name: `pull-${type}`, type: type as keyof typeof pools });
    await server.api.deployments.upsert.mutate({
      flowName: "etl",
      name: `git-${type}`,
      entrypoint: "flows/etl.ts:etl",
      path: null,
      pullSteps: GIT_PULL,
      codeVersion: "git:0123456789abcdef0123456789abcdef01234567",
      workPoolName: `pull-${type}`,
      jobVariables,
    });
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.close(), ecs?.close(), kubernetes?.close()]);
  restoreEnv?.();
});

/** The FLOWPLANE_* variables of an environment, with the run's own id and token made comparable. */
function runnerEnv(env: Record<string, string | undefined>, runId: string): Record<string, string> {
  const own = Object.entries(env).filter(([name]) => name.startsWith("FLOWPLANE_"));
  return Object.fromEntries(
    own.map(([name, value]) => [
      name,
      name === "FLOWPLANE_RUN_TOKEN" ? "(run token)" : (value ?? "").replaceAll(runId, "(run id)"),
    ]),
  );
}

describe("pull steps reach the flowplane image's runner the same way on every container pool", () => {
  it("docker, ECS and Kubernetes give the run's container the same runner environment, with the stored pull steps", async () => {
    const seen: Record<string, Record<string, string>> = {};

    const onDocker = await server.api.deployments.run.mutate({ name: "etl/git-docker" });
    await runOnce(server, onDocker.id, {
      poolName: "pull-docker",
      infrastructure: new DockerInfrastructure({ docker: new Docker() }),
    });
    const printed = (await runLogs(server, onDocker.id)).find((line) => line.startsWith("ENV "));
    expect(printed, (await runLogs(server, onDocker.id)).join("\n")).toBeDefined();
    const dockerEnv = JSON.parse(printed!.slice(4)) as Record<string, string>;
    seen["docker"] = runnerEnv(dockerEnv, onDocker.id);
    const [kept] = await docker.listContainers({ all: true, filters: { label: [`flowplane.run-id=${onDocker.id}`] } });
    const inspected = await docker.getContainer(kept!.Id).inspect();
    await docker.getContainer(kept!.Id).remove({ force: true });
    expect(inspected.Config.Env).toContain(`FLOWPLANE_SECRET_ENV=${JSON.stringify(SECRET_ENV)}`);
    expect([countCanary(inspected), countCanary(dockerEnv), "DB_PASSWORD" in dockerEnv]).toEqual([0, 0, false]);

    const onEcs = await server.api.deployments.run.mutate({ name: "etl/git-ecs" });
    await runOnce(server, onEcs.id, {
      poolName: "pull-ecs",
      infrastructure: new EcsInfrastructure({ endpoint: ecs.url, pollIntervalMs: 10 }),
    });
    const [task] = ecs.bodiesOf("RunTask") as {
      overrides: { containerOverrides: { environment: { name: string; value: string }[]; command?: string[] }[] };
    }[];
    const container = task!.overrides.containerOverrides[0]!;
    // No command: the image's CMD, the runner bootstrap.
    expect(container.command).toBeUndefined();
    seen["ecs"] = runnerEnv(Object.fromEntries(container.environment.map((e) => [e.name, e.value])), onEcs.id);
    expect(container.environment.map((e) => e.name)).not.toContain("DB_PASSWORD");

    const onKubernetes = await server.api.deployments.run.mutate({ name: "etl/git-kubernetes" });
    await runOnce(server, onKubernetes.id, {
      poolName: "pull-kubernetes",
      infrastructure: new KubernetesInfrastructure({
        kubeConfig: kubeConfigFor(kubernetes.url, "test-token"),
        pollIntervalMs: 10,
      }),
    });
    const created = kubernetes.writes().find((r) => r.method === "POST" && r.path.endsWith("/jobs"));
    const pod = (
      created!.body as {
        spec: { template: { spec: { containers: { env: { name: string; value: string }[]; command?: string[] }[] } } };
      }
    ).spec.template.spec.containers[0]!;
    expect(pod.command).toBeUndefined();
    seen["kubernetes"] = runnerEnv(Object.fromEntries(pod.env.map((e) => [e.name, e.value])), onKubernetes.id);
    expect(pod.env.map((e) => e.name)).not.toContain("DB_PASSWORD");
    // Every request the worker made to ECS and Kubernetes, not only the launch: no secret value.
    expect([countCanary(ecs.requests), countCanary(kubernetes.requests)]).toEqual([0, 0]);

    // PostgreSQL keeps the steps as jsonb (its own key order): the same steps, as JSON.
    const { FLOWPLANE_PULL_STEPS: pullSteps, ...rest } = seen["ecs"]!;
    expect(JSON.parse(pullSteps!)).toEqual(GIT_PULL);
    expect(rest).toEqual({
      FLOWPLANE_API_URL: server.url,
      FLOWPLANE_FLOW_RUN_ID: "(run id)",
      FLOWPLANE_ENTRYPOINT: "flows/etl.ts:etl",
      FLOWPLANE_RUN_TOKEN: "(run token)",
      FLOWPLANE_RUN_HEARTBEAT_SECONDS: "15",
      FLOWPLANE_OUTPUT_STREAMED: "0",
      // The env entry as written, for the runner to resolve; the SDK redacts the value it gets.
      FLOWPLANE_SECRET_ENV: JSON.stringify(SECRET_ENV),
      FLOWPLANE_REDACT_SECRETS: "DB_PASSWORD",
    });
    // References stay unresolved: the runner reads the secret for its run, so no value is in the task.
    expect(pullSteps).toContain("{{ secret.GIT_TOKEN }}");
    // FLOWPLANE_OUTPUT_STREAMED follows each pool's stream_output (ECS's default is off: its output
    // goes to CloudWatch); docker adds what its attach protocol needs.
    expect(seen["kubernetes"]).toEqual({ ...seen["ecs"], FLOWPLANE_OUTPUT_STREAMED: "1" });
    expect(seen["docker"]).toEqual({ ...seen["ecs"], FLOWPLANE_OUTPUT_STREAMED: "1", FLOWPLANE_EXIT_WITH_PARENT: "1" });
  }, 120_000);

  it("on docker the runner bootstrap resolves the env's secret with the run's token: the flow sees the value, its logs ***, and a missing secret fails the run naming it", async () => {
    // The repository's runner and SDK (tsx), mounted at the same path, in a plain Node image.
    const jobVariables = (env: Record<string, string>) => ({
      image: IMAGE,
      image_pull_policy: "never",
      command: ["node", ...runnerCommand().slice(1)],
      volumes: [`${repoRoot}:${repoRoot}`],
      auto_remove: false,
      env,
    });
    for (const [name, env] of [
      ["env-secret", SECRET_ENV],
      ["env-secret-missing", { X: "{{ secret.ABSENT }}" }],
    ] as const)
      await server.api.deployments.upsert.mutate({
        flowName: "from_env",
        name,
        entrypoint: "e2e/fixtures/secret-env-flow.ts:fromEnv",
        path: repoRoot,
        workPoolName: "pull-docker",
        jobVariables: jobVariables(env),
      });
    const infrastructure = new DockerInfrastructure({ docker });
    const inspectAndRemove = async (runId: string) => {
      const [kept] = await docker.listContainers({ all: true, filters: { label: [`flowplane.run-id=${runId}`] } });
      const inspected = await docker.getContainer(kept!.Id).inspect();
      await docker.getContainer(kept!.Id).remove({ force: true });
      return inspected;
    };

    const ran = await server.api.deployments.run.mutate({ name: "from_env/env-secret" });
    const done = await runOnce(server, ran.id, { poolName: "pull-docker", infrastructure });
    const logs = await runLogs(server, ran.id);
    expect(done.state.type, logs.join("\n")).toBe("COMPLETED");
    expect(logs).toContain(`DB_PASSWORD sha256 ${createHash("sha256").update(canary).digest("hex")}`);
    expect(logs).toContain("DB_PASSWORD is ***");
    expect(logs).toContain("FLOWPLANE_SECRET_ENV is unset");
    expect(countCanary(logs)).toBe(0);
    expect(countCanary(await inspectAndRemove(ran.id))).toBe(0);
    // The run's token read it, for this run (the worker's key read nothing).
    const reads = (await server.api.secrets.reads.query({ name: "DB_PASSWORD" })).filter((r) => r.flowRunId === ran.id);
    expect(reads.map((r) => r.reader)).toEqual(["run", "run"]);

    const missing = await server.api.deployments.run.mutate({ name: "from_env/env-secret-missing" });
    const failed = await runOnce(server, missing.id, { poolName: "pull-docker", infrastructure });
    await inspectAndRemove(missing.id);
    expect([failed.state.type, failed.state.message]).toEqual([
      "FAILED",
      'secret "ABSENT" referenced by the job variables does not exist',
    ]);
    expect(await runLogs(server, missing.id)).not.toContain("FLOWPLANE_SECRET_ENV is unset");
  }, 120_000);

  it("realistic pull steps fit ECS's 8,192-character overrides; a list that does not is refused naming the pull steps", () => {
    const runId = "0197a5d0-0000-7000-8000-000000000001";
    /** The ECS requests for a run with `pullSteps`, with the environment the Worker gives it. */
    const settings = (pullSteps: unknown[], extraEnv: Record<string, string> = {}) => {
      const job = resolvedJobSpec(
        "ecs",
        { id: runId, name: "crimson-otter", workerName: "w", format: (l) => l },
        {
          image: "flowplane/flowplane:0.1.0",
          ...network,
        },
      );
      job.env = {
        ...job.env,
        FLOWPLANE_ENTRYPOINT: "flows/etl.ts:etl",
        // A run token's length (a prefix and a signed JWT).
        FLOWPLANE_RUN_TOKEN: `fpr_${"x".repeat(600)}`,
        FLOWPLANE_PULL_STEPS: JSON.stringify(pullSteps),
        ...extraEnv,
      };
      return ecsJobSettings(job);
    };
    const length = (pullSteps: unknown[], extraEnv: Record<string, string> = {}) =>
      JSON.stringify(settings(pullSteps, extraEnv).runTask.overrides).length;
    expect(length(GIT_PULL)).toBeLessThan(1_600);
    expect(length(BUNDLE_PULL)).toBeLessThan(1_800);
    // Env entries that reference secrets travel as their templates, with their names for the SDK's
    // redaction, as the Worker passes them: under 90 characters each (1,032 for these twelve), about
    // what each would cost resolved (`{"name":…,"value":…}` with a 40-character value: 70).
    // ecsJobSettings checks the limit on the overrides as sent, these included.
    const names = Array.from({ length: 12 }, (_, i) => `SERVICE_${i}_PASSWORD`);
    const secretEnv = {
      FLOWPLANE_SECRET_ENV: JSON.stringify(Object.fromEntries(names.map((n) => [n, `{{ secret.${n} }}`]))),
      FLOWPLANE_REDACT_SECRETS: names.join(","),
    };
    expect(length(BUNDLE_PULL, secretEnv) - length(BUNDLE_PULL)).toBeLessThan(12 * 90);
    expect(length(BUNDLE_PULL, secretEnv)).toBeLessThan(2_900);
    // The most the API stores (50 steps): fifty sparse clones of a monorepo's flow directories.
    const monorepo = Array.from({ length: 50 }, (_, i) => ({
      id: `flows-${i}`,
      git_clone: {
        repository: "https://git.example.com/acme/monorepo.git",
        commit: "0123456789abcdef0123456789abcdef01234567",
        sparse: [`services/team-${i}/flows`, `libs/shared-${i}`],
      },
    }));
    expect(() => settings(monorepo)).toThrow(
      /^job variables "env" and "command" with the deployment's pull steps \(FLOWPLANE_PULL_STEPS: [\d,]+ characters\): the task's container overrides are [\d,]+ characters; ECS accepts at most 8,192 \(.*pull steps: fewer or shorter steps, or deliver the code in an image with docker_build\)$/,
    );
  });
});
