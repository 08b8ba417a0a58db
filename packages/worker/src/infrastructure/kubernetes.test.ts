// The kubernetes pool through the real @kubernetes/client-node against an in-process fake API
// server: the exact Job the worker creates, how it watches and deletes it, and how pod outcomes map
// to run outcomes.
import net from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestServer, waitFor, type TestServer } from "../../../../e2e/harness.ts";
import { FakeKubernetes, kubeConfigFor } from "./fakes/kubernetes-api.ts";
import {
  cancelAfterRestart,
  cancelThroughFailingStops,
  createPool,
  resolvedJobSpec,
  restartAmongOwnJobs,
  RESTARTS,
  runOnce,
} from "./fakes/scenarios.ts";
import { KubernetesInfrastructure, type KubernetesInfrastructureOptions } from "./kubernetes.ts";

let fake: FakeKubernetes;

beforeAll(async () => {
  fake = await FakeKubernetes.start();
  fake.forbiddenNamespaces.add("kube-system");
  fake.serviceAccounts.add("flows/etl-runner");
  fake.restrictedNamespaces.add("locked-down");
});

afterAll(async () => {
  await fake?.close();
});

beforeEach(() => {
  fake.requests.length = 0;
  fake.plan = () => ({ kind: "succeed" });
  fake.faults.length = 0;
});

/** Timeouts shortened by configuration: retries, lost track and image pulls within a test's time. */
const infra = (options: Partial<KubernetesInfrastructureOptions> = {}) =>
  new KubernetesInfrastructure({
    kubeConfig: kubeConfigFor(fake.url, "test-token"),
    pollIntervalMs: 10,
    retryForMs: 2_000,
    retryDelayMs: 20,
    lostAfterMs: 300,
    imagePullTimeoutMs: 300,
    stopWaitMs: 2_000,
    ...options,
  });

const RUN_ID = "0197a5d0-0000-7000-8000-000000000002";

/** A job as the worker builds it: the default kubernetes template resolved with deployment and run variables. */
const jobSpec = (deployment: Record<string, unknown>, run: Record<string, unknown> = {}) =>
  resolvedJobSpec(
    "kubernetes",
    { id: RUN_ID, name: "Crimson Otter", workerName: "k8s worker 1", format: (line, stream) => `${stream}: ${line}` },
    deployment,
    run,
  );

describe("kubernetes requests", () => {
  it("creates a batch/v1 Job from the merged template, then lists its pods by job-name", async () => {
    const job = jobSpec(
      {
        namespace: "flows",
        image: "registry.example.com/etl:1.4",
        env: { STAGE: "prod", LOG: "info" },
        labels: { team: "data" },
        service_account_name: "etl-runner",
        cpu_request: "500m",
        memory_limit: "1Gi",
        finished_job_ttl: 120,
      },
      { env: { LOG: "debug" }, command: ["node", "--import", "tsx", "runner.ts"] },
    );
    const running = await infra().submit(job);
    const [create] = fake.writes();
    const name = running.id.split("/")[1]!;
    expect(running.id).toMatch(/^flows\/crimson-otter-[0-9a-f]{6}$/);
    expect(create).toMatchObject({
      method: "POST",
      path: "/apis/batch/v1/namespaces/flows/jobs",
      authorization: "Bearer test-token",
    });
    const labels = { team: "data", "flowplane.io/run-id": RUN_ID, "flowplane.io/worker": "k8s-worker-1" };
    expect(create!.body).toEqual({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, namespace: "flows", labels, annotations: { "flowplane.io/flow-run-name": "Crimson Otter" } },
      spec: {
        backoffLimit: 0,
        ttlSecondsAfterFinished: 120,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: "Never",
            serviceAccountName: "etl-runner",
            containers: [
              {
                name: "flowplane",
                image: "registry.example.com/etl:1.4",
                imagePullPolicy: "IfNotPresent",
                command: ["node", "--import", "tsx", "runner.ts"],
                env: [
                  { name: "STAGE", value: "prod" },
                  { name: "LOG", value: "debug" },
                  { name: "FLOWPLANE_API_URL", value: "https://flowplane.example.com/api" },
                  { name: "FLOWPLANE_FLOW_RUN_ID", value: RUN_ID },
                ],
                resources: { requests: { cpu: "500m" }, limits: { memory: "1Gi" } },
              },
            ],
          },
        },
      },
    });
    await running.exited;
    const lists = fake.requests.filter((r) => r.method === "GET" && r.path.endsWith("/pods"));
    expect(lists.length).toBeGreaterThan(2);
    for (const list of lists)
      expect(list).toMatchObject({
        path: "/api/v1/namespaces/flows/pods",
        query: { labelSelector: `job-name=${name}` },
      });
  });

  it("defaults: namespace default, no command (the image's), TTL 60, no resources or service account", async () => {
    await (
      await infra().submit(jobSpec({ image: "etl:1" }))
    ).exited;
    const body = fake.writes()[0]!.body as {
      metadata: { namespace: string };
      spec: {
        ttlSecondsAfterFinished: number;
        template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } };
      };
    };
    expect(fake.writes()[0]!.path).toBe("/apis/batch/v1/namespaces/default/jobs");
    expect(body.spec.ttlSecondsAfterFinished).toBe(60);
    expect(body.spec.template.spec).not.toHaveProperty("serviceAccountName");
    expect(Object.keys(body.spec.template.spec.containers[0]!).sort()).toEqual([
      "env",
      "image",
      "imagePullPolicy",
      "name",
    ]);
  });
});

describe("kubernetes pod outcomes", () => {
  it("Succeeded: exit code 0, with the pod's log lines in the run's output", async () => {
    fake.plan = () => ({ kind: "succeed", logs: ["total is 6", "printed line"], runningPolls: 3 });
    const job = jobSpec({ image: "etl:1" });
    const running = await infra().submit(job);
    expect(await running.exited).toEqual({ exitCode: 0, reason: "exited with code 0", stopped: false });
    expect(job.lines).toEqual(["stdout: total is 6", "stdout: printed line"]);
    const log = fake.requests.find((r) => r.path.endsWith("/log"));
    expect(log).toMatchObject({ query: { container: "flowplane", follow: "true", timestamps: "true" } });
  });

  it("a log stream that drops mid-run is resumed from the last line's time, without repeating or losing lines", async () => {
    fake.plan = () => ({ kind: "run-until-deleted", logs: ["one", "two"] });
    const job = jobSpec({ image: "etl:1" });
    const running = await infra().submit(job);
    const name = running.id.split("/")[1]!;
    await waitFor("the first lines", async () => job.lines.length === 2);
    fake.dropLogStreams();
    fake.appendLogs("default", name, ["three"]);
    await waitFor("the line written after the drop", async () => job.lines.length === 3);
    fake.appendLogs("default", name, ["four"]);
    await waitFor("the next line", async () => job.lines.length === 4);
    await running.stop(0);
    expect(job.lines).toEqual(["stdout: one", "stdout: two", "stdout: three", "stdout: four"]);
    const follows = fake.requests.filter((r) => r.path.endsWith("/log"));
    expect(follows.length).toBeGreaterThanOrEqual(2);
    expect(follows[1]!.query["sinceTime"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("Failed with the container's exit code", async () => {
    fake.plan = () => ({ kind: "fail", exitCode: 2 });
    expect(await (await infra().submit(jobSpec({ image: "etl:1" }))).exited).toEqual({
      exitCode: 2,
      reason: "exited with code 2",
      stopped: false,
    });
  });

  it("Failed with reason OOMKilled", async () => {
    fake.plan = () => ({ kind: "fail", exitCode: 137, reason: "OOMKilled" });
    expect(await (await infra().submit(jobSpec({ image: "etl:1", memory_limit: "64Mi" }))).exited).toEqual({
      exitCode: 137,
      reason: "OOMKilled",
      stopped: false,
    });
  });

  it("cancel: deletes the Job with propagationPolicy Background and reports it stopped", async () => {
    fake.plan = () => ({ kind: "run-until-deleted", logs: ["working"] });
    const job = jobSpec({ namespace: "flows", image: "etl:1" });
    const running = await infra().submit(job);
    await expect.poll(() => fake.requests.filter((r) => r.path.endsWith("/pods")).length).toBeGreaterThan(3);
    await running.stop(10_000);
    const [, del] = fake.writes();
    expect(del).toMatchObject({
      method: "DELETE",
      path: `/apis/batch/v1/namespaces/flows/jobs/${running.id.split("/")[1]}`,
      query: { propagationPolicy: "Background" },
    });
    expect(await running.exited).toMatchObject({ stopped: true, exitCode: 137 });
    expect(fake.jobs.has(running.id)).toBe(false);
    expect(job.lines).toEqual(["stdout: working"]);
  });

  it("a pod that still cannot pull its image after imagePullTimeoutMs ends the run with the kubelet's message, and its Job is deleted", async () => {
    const message = 'Back-off pulling image "registry.example.com/etl:404"';
    fake.plan = () => ({ kind: "wait", reason: "ImagePullBackOff", message });
    const running = await infra().submit(jobSpec({ image: "registry.example.com/etl:404" }));
    const result = await running.exited;
    expect(result).toEqual({
      exitCode: null,
      reason: expect.stringMatching(
        new RegExp(
          `^pod ${running.id.split("/")[1]}-[0-9a-f]{5} could not start: ImagePullBackOff: Back-off pulling image "registry.example.com/etl:404" \\(the kubelet retried the pull for \\d+ s\\)$`,
        ),
      ),
      stopped: false,
    });
    expect(fake.writes().map((r) => `${r.method} ${r.query["propagationPolicy"] ?? ""}`)).toEqual([
      "POST ",
      "DELETE Background",
    ]);
  });

  it("a pod that never starts is given up after pod_watch_timeout_seconds, with what it waits for", async () => {
    fake.plan = () => ({ kind: "wait", reason: "ContainerCreating", message: "" });
    const running = await infra().submit(jobSpec({ image: "etl:1", pod_watch_timeout_seconds: 0 }));
    expect((await running.exited).reason).toMatch(/did not start within 0 s \(ContainerCreating\)$/);
  });
});

describe("kubernetes submit errors name the cause", () => {
  it("a namespace the worker may not create Jobs in (403 Forbidden)", async () => {
    await expect(infra().submit(jobSpec({ namespace: "kube-system", image: "etl:1" }))).rejects.toThrow(
      `could not create Kubernetes Job in namespace "kube-system" on ${fake.url}: Forbidden: jobs.batch is forbidden: User "system:serviceaccount:flowplane:flowplane-worker" cannot create resource "jobs" in API group "batch" in the namespace "kube-system"`,
    );
  });

  it("an API server that does not answer", async () => {
    // A port that was just free: nothing listens there. (Not a well-known closed port such as 9:
    // client-node 2.x uses fetch, which refuses "bad ports" before connecting.)
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const kc = kubeConfigFor(`http://127.0.0.1:${closedPort}`);
    // Retried (an API server restarting refuses connections for a moment) for retryForMs, then named.
    await expect(
      new KubernetesInfrastructure({ kubeConfig: kc, retryForMs: 300, retryDelayMs: 20 }).submit(
        jobSpec({ image: "etl:1" }),
      ),
    ).rejects.toThrow(
      new RegExp(
        `could not create Kubernetes Job in namespace "default" on http://127.0.0.1:${closedPort}: .*ECONNREFUSED.* \\(retried for \\d+ s\\)$`,
      ),
    );
  });
});

describe("kubernetes transient errors are retried, not terminal", () => {
  it("429 and 503 on the Job create: retried with backoff, one Job is created, each retry told to the run", async () => {
    fake.fail("POST", /\/jobs$/, 429, 2);
    fake.fail("POST", /\/jobs$/, 503, 1);
    const events: string[] = [];
    const job = jobSpec({ image: "etl:1" });
    const running = await infra().submit({ ...job, onEvent: (m) => events.push(m) });
    expect((await running.exited).reason).toBe("exited with code 0");
    expect(fake.writes().filter((r) => r.method === "POST")).toHaveLength(4);
    expect(events).toEqual([
      expect.stringMatching(
        /^creating Kubernetes Job default\/crimson-otter-[0-9a-f]{6}: TooManyRequests: the server has received too many requests and has asked us to try again later; retry 1 in \d+\.\d s$/,
      ),
      expect.stringMatching(/: TooManyRequests: .*; retry 2 in /),
      expect.stringMatching(/: ServiceUnavailable: .*; retry 3 in /),
    ]);
  });

  it("5xx on the pod listings while the pod runs: the watch keeps going and reports how the pod ended", async () => {
    fake.plan = () => ({ kind: "succeed", runningPolls: 5 });
    const running = await infra({ lostAfterMs: 5_000 }).submit(jobSpec({ image: "etl:1" }));
    fake.fail("GET", /\/pods$/, 500, 10);
    fake.fail("GET", /\/pods$/, 429, 10);
    expect(await running.exited).toEqual({ exitCode: 0, reason: "exited with code 0", stopped: false });
  });

  it("lost track: while the runner heartbeats the watch goes on; once it is silent too, the Job is deleted and the exit says so", async () => {
    fake.plan = () => ({ kind: "run-until-deleted" });
    let asked = 0;
    const running = await infra({ lostAfterMs: 100 }).submit({
      ...jobSpec({ image: "etl:1" }),
      runnerAlive: async () => ++asked <= 2,
    });
    await new Promise((r) => setTimeout(r, 100));
    fake.fail("GET", /\/pods$/, 500, 1_000_000);
    const result = await running.exited;
    expect(result).toEqual({
      exitCode: null,
      reason: `lost track of Kubernetes Job ${running.id}: InternalError: an error on the server ("etcdserver: request timed out") has prevented the request from succeeding`,
      stopped: false,
      lost: true,
    });
    expect(asked).toBe(3);
    expect(fake.jobs.has(running.id)).toBe(false);
  });

  it("the fake refuses what the API server refuses among the fields the worker sends (an invalid environment variable name)", async () => {
    await expect(infra().submit(jobSpec({ image: "etl:1", env: { "1BAD": "x" } }))).rejects.toThrow(
      /: Invalid: Job\.batch "crimson-otter-[0-9a-f]{6}" is invalid: spec\.template\.spec\.containers\[0\]\.env\[0\]\.name: Invalid value: "1BAD": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '\.', and must not start with a digit$/,
    );
  });
});

describe("kubernetes pods that never start or never finish end with the real reason, in bounded time", () => {
  const podName = (id: string) => `${id.split("/")[1]}-[0-9a-f]{5}`;

  it("a pod never created (quota): the Job controller's FailedCreate event, and the Job is deleted", async () => {
    fake.plan = () => ({
      kind: "no-pod",
      message: 'pods "x" is forbidden: exceeded quota: compute, requested: cpu=2, used: cpu=8, limited: cpu=8',
    });
    const running = await infra().submit(jobSpec({ image: "etl:1", pod_watch_timeout_seconds: 0 }));
    expect((await running.exited).reason).toBe(
      `no pod was created for Job ${running.id} within 0 s: FailedCreate: Error creating: pods "x" is forbidden: exceeded quota: compute, requested: cpu=2, used: cpu=8, limited: cpu=8`,
    );
    expect(fake.jobs.has(running.id)).toBe(false);
  });

  it("a pod never created (service account missing): the ServiceAccount admission's FailedCreate, and the Job is deleted", async () => {
    const running = await infra().submit(
      jobSpec({ namespace: "flows", image: "etl:1", service_account_name: "etl-reader", pod_watch_timeout_seconds: 0 }),
    );
    const name = running.id.split("/")[1]!;
    expect((await running.exited).reason).toBe(
      `no pod was created for Job ${running.id} within 0 s: FailedCreate: Error creating: pods "${name}-" is forbidden: error looking up service account flows/etl-reader: serviceaccount "etl-reader" not found`,
    );
    expect(fake.jobs.has(running.id)).toBe(false);
  });

  it("a pod never created (Pod Security restricted): the violations the admission lists, and the Job is deleted", async () => {
    const running = await infra().submit(
      jobSpec({ namespace: "locked-down", image: "etl:1", pod_watch_timeout_seconds: 0 }),
    );
    const name = running.id.split("/")[1]!;
    expect((await running.exited).reason).toBe(
      `no pod was created for Job ${running.id} within 0 s: FailedCreate: Error creating: pods "${name}-" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "flowplane" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "flowplane" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "flowplane" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "flowplane" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
    );
    expect(fake.jobs.has(running.id)).toBe(false);
  });

  it("an unschedulable pod: the scheduler's message", async () => {
    fake.plan = () => ({ kind: "unschedulable", message: "0/3 nodes are available: 3 Insufficient cpu." });
    const running = await infra().submit(jobSpec({ image: "etl:1", pod_watch_timeout_seconds: 0 }));
    expect((await running.exited).reason).toMatch(
      new RegExp(
        `^pod ${podName(running.id)} did not start within 0 s \\(unschedulable: 0/3 nodes are available: 3 Insufficient cpu\\.\\)$`,
      ),
    );
    expect(fake.jobs.has(running.id)).toBe(false);
  });

  it("ErrImagePull is retried as the kubelet does: a pull that fails for a while and then works runs the flow", async () => {
    fake.plan = () => ({ kind: "pull-failing", forMs: 150 });
    const running = await infra({ imagePullTimeoutMs: 5_000 }).submit(jobSpec({ image: "registry.example.com/etl:1" }));
    expect(await running.exited).toEqual({ exitCode: 0, reason: "exited with code 0", stopped: false });
  });

  it("an evicted pod ends with the kubelet's eviction message", async () => {
    fake.plan = () => ({ kind: "evicted" });
    const running = await infra().submit(jobSpec({ image: "etl:1" }));
    expect(await running.exited).toEqual({
      exitCode: 137,
      reason:
        "pod failed: Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 91340Ki.",
      stopped: false,
    });
  });

  it("a pod on a lost node ends with the disruption's reason, and its Job is deleted", async () => {
    fake.plan = () => ({ kind: "node-lost" });
    const running = await infra().submit(jobSpec({ image: "etl:1" }));
    expect((await running.exited).reason).toMatch(
      new RegExp(
        `^pod disrupted: DeletionByTaintManager: Taint manager: deleting due to NoExecute taint \\(pod ${podName(running.id)}\\)$`,
      ),
    );
    expect(fake.jobs.has(running.id)).toBe(false);
  });

  it("a sidecar that keeps the pod Running: the flow container's exit ends the run, and the Job (with the sidecar) is deleted", async () => {
    fake.plan = () => ({ kind: "sidecar" });
    const running = await infra().submit(jobSpec({ image: "etl:1" }));
    expect(await running.exited).toEqual({ exitCode: 0, reason: "exited with code 0", stopped: false });
    expect(fake.jobs.has(running.id)).toBe(false);
  });

  it("a pod the Job controller removed (activeDeadlineSeconds) ends with the Job's Failed condition", async () => {
    fake.plan = () => ({ kind: "deadline" });
    const running = await infra().submit(jobSpec({ image: "etl:1" }));
    expect(await running.exited).toEqual({
      exitCode: null,
      reason: `pod of Job ${running.id} disappeared: Job failed: DeadlineExceeded: Job was active longer than specified deadline`,
      stopped: false,
    });
  });

  it("a finished Job carries its condition (what the worker reads when a pod is gone)", async () => {
    fake.plan = () => ({ kind: "fail", exitCode: 2 });
    const running = await infra().submit(jobSpec({ image: "etl:1" }));
    await running.exited;
    const job = fake.jobs.get(running.id) as { status: { conditions: { type: string; reason?: string }[] } };
    expect(job.status.conditions).toEqual([
      expect.objectContaining({ type: "Failed", reason: "BackoffLimitExceeded" }),
    ]);
  });
});

describe("kubernetes pool through the Worker", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ missedWorkerHeartbeats: 1, livenessIntervalMs: 200 });
    await createPool(server, "k8s-pool", "kubernetes", {
      forbidden: { image: "etl:1", namespace: "kube-system" },
      long: { image: "etl:1" },
      "missing-account": { image: "etl:1", service_account_name: "etl-reader", pod_watch_timeout_seconds: 1 },
      "locked-down": { image: "etl:1", namespace: "locked-down", pod_watch_timeout_seconds: 1 },
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it("ends a run in a forbidden namespace CRASHED with a message naming the namespace", async () => {
    const run = await server.api.deployments.run.mutate({ name: "hello/forbidden" });
    const final = await runOnce(server, run.id, { poolName: "k8s-pool", infrastructure: infra() });
    expect(final.state.type).toBe("CRASHED");
    expect(final.state.message).toBe(
      `infrastructure could not start: could not create Kubernetes Job in namespace "kube-system" on ${fake.url}: Forbidden: jobs.batch is forbidden: User "system:serviceaccount:flowplane:flowplane-worker" cannot create resource "jobs" in API group "batch" in the namespace "kube-system"`,
    );
  });

  it("a pod never created for a missing service account or a Pod Security rejection: the run ends CRASHED with the Job controller's FailedCreate message", async () => {
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const [deployment, namespace, admission] of [
      [
        "missing-account",
        "default",
        'error looking up service account default/etl-reader: serviceaccount "etl-reader" not found',
      ],
      [
        "locked-down",
        "locked-down",
        'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "flowplane" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "flowplane" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "flowplane" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "flowplane" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
      ],
    ] as const) {
      const run = await server.api.deployments.run.mutate({ name: `hello/${deployment}` });
      const final = await runOnce(server, run.id, { poolName: "k8s-pool", infrastructure: infra() });
      expect(final.state.type, deployment).toBe("CRASHED");
      expect(final.state.message, deployment).toMatch(
        new RegExp(
          `^infrastructure no pod was created for Job ${namespace}/([a-z0-9-]+) within 1 s: FailedCreate: Error creating: pods "\\1-" is forbidden: ${escape(admission)} without reporting a final state$`,
        ),
      );
    }
  });

  it("a 500 on the Job DELETE is retried and logged on the run, the run ends CANCELLED, and the worker keeps serving (regression: the rejection was unhandled and exited the worker)", async () => {
    fake.plan = () => ({ kind: "run-until-deleted" });
    const { infrastructureId, logs } = await cancelThroughFailingStops(
      server,
      {
        poolName: "k8s-pool",
        deployment: "hello/long",
        workerName: "k8s-canceller",
        infrastructure: infra({ retryForMs: 200 }),
      },
      () => fake.fail("DELETE", /\/jobs\//, 500, 10),
    );
    expect(fake.jobs.has(infrastructureId)).toBe(false);
    expect(logs).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^Flowplane worker k8s-canceller: could not stop the run's infrastructure \\(attempt 1\\): could not delete Kubernetes Job ${infrastructureId}: InternalError: an error on the server \\("etcdserver: request timed out"\\) has prevented the request from succeeding; retrying in \\d+\\.\\d s$`,
        ),
      ),
    );
  });

  it.each([
    {
      title:
        "cancel after a restart under a new name deletes the Job its OFFLINE launcher left, and the run reads CANCELLED once its pod has ended",
      launcher: "k8s-before",
      successor: "k8s-after",
    },
    {
      title: "cancel after a restart under the same name deletes the Job from its stored id",
      launcher: "k8s-same",
      successor: "k8s-same",
    },
  ])("$title", async ({ launcher, successor }) => {
    fake.plan = () => ({ kind: "run-until-deleted" });
    const { job } = await cancelAfterRestart(server, {
      poolName: "k8s-pool",
      deployment: "hello/long",
      launcher,
      successor,
      infrastructure: () => infra(),
    });
    expect(fake.jobs.has(job.id)).toBe(false);
  });

  it("cleanupOrphans: a worker back under its name deletes the Jobs it launched for runs that have ended, and leaves its runs' live Jobs alone", async () => {
    fake.plan = () => ({ kind: "run-until-deleted" });
    await restartAmongOwnJobs(
      server,
      { poolName: "k8s-pool", deployment: "hello/long", workerName: "k8s-orphans", infrastructure: () => infra() },
      async ({ live, ended }) => {
        await waitFor("the ended run's Job to be deleted", async () => !fake.jobs.has(ended.id));
        expect(fake.requests).toContainEqual(
          expect.objectContaining({
            method: "GET",
            path: "/apis/batch/v1/namespaces/default/jobs",
            query: { labelSelector: "flowplane.io/worker=k8s-orphans" },
          }),
        );
        expect(fake.jobs.has(live.id)).toBe(true);
      },
    );
  });

  for (const { how, names } of RESTARTS)
    it(`cleanupOrphans: ${how} finds the Jobs a killed worker launched in another namespace (a run's job variables), deletes those whose runs have ended, and leaves the live one alone (regression: only the template's default namespace was searched)`, async () => {
      fake.plan = () => ({ kind: "run-until-deleted" });
      const runs = { poolName: "k8s-pool", deployment: "hello/long", jobVariables: { namespace: "etl" } };
      await restartAmongOwnJobs(
        server,
        { ...runs, ...names("k8s-far"), infrastructure: infra },
        async ({ live, ended }) => {
          expect(ended.id).toMatch(/^etl\//);
          await waitFor("the ended run's Job to be deleted", async () => !fake.jobs.has(ended.id));
          expect(fake.requests).toContainEqual(
            expect.objectContaining({
              method: "GET",
              path: "/apis/batch/v1/namespaces/etl/jobs",
              query: { labelSelector: `flowplane.io/worker=${names("k8s-far").workerName}` },
            }),
          );
          expect(fake.jobs.has(live.id)).toBe(true);
        },
      );
    });
});
