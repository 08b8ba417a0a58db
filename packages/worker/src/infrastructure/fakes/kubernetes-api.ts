// An in-process stand-in for the Kubernetes API server, for tests: a node:http server implementing
// the subset the kubernetes pool uses, with objects and Status errors shaped like the real API:
//
//   POST   /apis/batch/v1/namespaces/{ns}/jobs
//   GET    /apis/batch/v1/namespaces/{ns}/jobs?labelSelector=k=v,...
//   GET    /apis/batch/v1/namespaces/{ns}/jobs/{name}
//   DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}?propagationPolicy=...
//   GET    /api/v1/namespaces/{ns}/pods?labelSelector=k=v,...
//   GET    /api/v1/namespaces/{ns}/pods/{name}/log?container=...&follow=true
//   GET    /api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.name=...
//
// Creating a Job creates its pod at once (as the Job controller would, with the job-name and
// controller-uid labels) unless the plan says the controller cannot (FailedCreate event); the pod
// advances one step per pod listing (Pending → Running → its planned end), so a watcher sees
// intermediate phases, and the Job gets its Complete or Failed condition when the pod ends. Plans
// cover what production does: unschedulable, image pulls failing for a while, eviction, a lost
// node, a sidecar that keeps the pod Running. Like the API server's admission, the pod is refused
// (a FailedCreate event on the Job, as the Job controller records it) when it names a service
// account its namespace does not have, or breaks the Pod Security level "restricted" that a
// namespace in `restrictedNamespaces` enforces. `fail()` answers 429 or 5xx Status errors. Like the
// API server it refuses invalid names, label values and environment variable names (422). Every
// request is recorded.
import { randomBytes, randomUUID } from "node:crypto";
import type http from "node:http";
import { KubeConfig } from "@kubernetes/client-node";
import { LoopbackFake, readBody } from "./loopback-server.ts";

export interface KubeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
}

/** What a Job's pod does. */
export type PodPlan =
  | { kind: "succeed"; logs?: string[]; runningPolls?: number }
  | { kind: "fail"; exitCode: number; reason?: string; logs?: string[] }
  | { kind: "wait"; reason: string; message: string }
  | { kind: "run-until-deleted"; logs?: string[] }
  /** The Job controller cannot create the pod (quota, service account, Pod Security): a FailedCreate event. */
  | { kind: "no-pod"; message: string }
  /** The scheduler finds no node: Pending, PodScheduled False, a FailedScheduling event. */
  | { kind: "unschedulable"; message: string }
  /** The image cannot be pulled for `forMs` (ErrImagePull, then ImagePullBackOff), then the pod runs and succeeds. */
  | { kind: "pull-failing"; forMs: number; runningPolls?: number }
  /** Runs, then the kubelet evicts it (phase Failed, reason Evicted). */
  | { kind: "evicted"; runningPolls?: number }
  /** Runs, then its node stops reporting: the taint manager marks it for deletion, and it stays. */
  | { kind: "node-lost"; runningPolls?: number }
  /** The flow container exits 0 but a sidecar keeps the pod (and the Job) Running. */
  | { kind: "sidecar"; runningPolls?: number }
  /** Runs past the Job's activeDeadlineSeconds: the Job controller fails the Job and deletes the pod. */
  | { kind: "deadline"; runningPolls?: number };

/** A kubeconfig whose cluster is `server` (a fake's url), as `kubectl config` would write it. */
export function kubeConfigFor(server: string, token?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server, skipTLSVerify: true }],
    users: [{ name: "flowplane-worker", ...(token ? { token } : {}) }],
    contexts: [{ name: "fake", cluster: "fake", user: "flowplane-worker" }],
    currentContext: "fake",
  });
  return kc;
}

/** A fault answered instead of handling the matching requests, `times` times. */
interface KubeFault {
  method: string;
  path: RegExp;
  code: number;
  times: number;
}

type Json = Record<string, unknown>;

interface FakePod {
  pod: Json;
  plan: PodPlan;
  polls: number;
  /** Lines with the kubelet's RFC 3339 nanosecond timestamps. */
  logs: { time: string; line: string }[];
  deleting: boolean;
  /** Log responses being followed (with timestamps or not), ended when the container ends. */
  followers: Map<http.ServerResponse, boolean>;
  createdAt: number;
  /** Deleted by the Job controller: the next listing no longer shows it. */
  gone?: boolean;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

function status(code: number, reason: string, message: string, details?: Json): Json {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

export class FakeKubernetes extends LoopbackFake {
  readonly requests: KubeRequest[] = [];
  /** Namespaces the worker's service account may not write to (403 Forbidden). */
  readonly forbiddenNamespaces = new Set<string>();
  /** The service account named in Forbidden messages. */
  user = "system:serviceaccount:flowplane:flowplane-worker";
  plan: (job: Json) => PodPlan = () => ({ kind: "succeed" });
  /** Service accounts ("namespace/name") besides the `default` one every namespace has. */
  readonly serviceAccounts = new Set<string>();
  /** Namespaces labelled pod-security.kubernetes.io/enforce=restricted. */
  readonly restrictedNamespaces = new Set<string>();

  readonly jobs = new Map<string, Json>();
  readonly pods = new Map<string, FakePod>();
  readonly events: Json[] = [];
  /** Faults still to answer (a test's beforeEach empties it). */
  readonly faults: KubeFault[] = [];

  /**
   * The admission plugins' refusal of the Job controller's pod (generateName `generated`), in their
   * words, or null: the ServiceAccount plugin, then Pod Security's "restricted" checks for the
   * fields a flow-run pod could set.
   */
  private admitPod(namespace: string, generated: string, podSpec: Json): string | null {
    const account = typeof podSpec["serviceAccountName"] === "string" ? podSpec["serviceAccountName"] : "default";
    if (account !== "default" && !this.serviceAccounts.has(`${namespace}/${account}`))
      return `pods "${generated}" is forbidden: error looking up service account ${namespace}/${account}: serviceaccount "${account}" not found`;
    if (!this.restrictedNamespaces.has(namespace)) return null;
    const podContext = (podSpec["securityContext"] as Json | undefined) ?? {};
    const containers = podSpec["containers"] as Json[];
    const context = (c: Json) => (c["securityContext"] as Json | undefined) ?? {};
    const names = (list: Json[], pod = false) =>
      `${pod ? "pod or " : ""}${list.length === 1 ? "container" : "containers"} ${list.map((c) => JSON.stringify(c["name"])).join(", ")}`;
    const violations: string[] = [];
    const escalating = containers.filter((c) => context(c)["allowPrivilegeEscalation"] !== false);
    if (escalating.length)
      violations.push(
        `allowPrivilegeEscalation != false (${names(escalating)} must set securityContext.allowPrivilegeEscalation=false)`,
      );
    const capable = containers.filter(
      (c) => !((context(c)["capabilities"] as Json | undefined)?.["drop"] as string[] | undefined)?.includes("ALL"),
    );
    if (capable.length)
      violations.push(
        `unrestricted capabilities (${names(capable)} must set securityContext.capabilities.drop=["ALL"])`,
      );
    const root = containers.filter((c) => (context(c)["runAsNonRoot"] ?? podContext["runAsNonRoot"]) !== true);
    if (root.length)
      violations.push(`runAsNonRoot != true (${names(root, true)} must set securityContext.runAsNonRoot=true)`);
    const seccomp = (c: Json) =>
      ((context(c)["seccompProfile"] ?? podContext["seccompProfile"]) as Json | undefined)?.["type"];
    const unconfined = containers.filter((c) => !["RuntimeDefault", "Localhost"].includes(String(seccomp(c))));
    if (unconfined.length)
      violations.push(
        `seccompProfile (${names(unconfined, true)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
      );
    return violations.length
      ? `pods "${generated}" is forbidden: violates PodSecurity "restricted:latest": ${violations.join(", ")}`
      : null;
  }

  /** Answers `code` (429 TooManyRequests, 500 InternalError, 503...) to the next `times` matching requests. */
  fail(method: string, path: RegExp, code: number, times = 1): void {
    this.faults.push({ method, path, code, times });
  }
  /** Requests other than pod listings and log reads (which depend on timing). */
  writes(): KubeRequest[] {
    return this.requests.filter((r) => r.method !== "GET");
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const text = await readBody(req);
    const url = new URL(req.url ?? "/", "http://fake");
    const body: unknown = text ? JSON.parse(text) : undefined;
    const request: KubeRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      authorization: req.headers.authorization,
    };
    this.requests.push(request);
    const send = (code: number, payload: unknown) => {
      res.writeHead(code, { "content-type": "application/json", ...(code === 429 ? { "retry-after": "1" } : {}) });
      res.end(JSON.stringify(payload));
    };
    const fault = this.faults.find((f) => f.times > 0 && f.method === request.method && f.path.test(url.pathname));
    if (fault) {
      fault.times--;
      const reason =
        fault.code === 429 ? "TooManyRequests" : fault.code === 503 ? "ServiceUnavailable" : "InternalError";
      const message =
        fault.code === 429
          ? "the server has received too many requests and has asked us to try again later"
          : 'an error on the server ("etcdserver: request timed out") has prevented the request from succeeding';
      return send(fault.code, status(fault.code, reason, message, { retryAfterSeconds: 1 }));
    }
    let m: RegExpExecArray | null;
    if (request.method === "POST" && (m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/.exec(url.pathname)))
      return send(...this.createJob(m[1]!, body as Json));
    if (
      request.method === "DELETE" &&
      (m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/.exec(url.pathname))
    )
      return send(...this.deleteJob(m[1]!, m[2]!));
    if (request.method === "GET" && (m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/.exec(url.pathname)))
      return send(200, this.listJobs(m[1]!, url.searchParams.get("labelSelector") ?? ""));
    if (
      request.method === "GET" &&
      (m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/.exec(url.pathname))
    ) {
      const job = this.jobs.get(`${m[1]}/${m[2]}`);
      return job
        ? send(200, job)
        : send(
            404,
            status(404, "NotFound", `jobs.batch "${m[2]}" not found`, { name: m[2], group: "batch", kind: "jobs" }),
          );
    }
    if (request.method === "GET" && (m = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(url.pathname)))
      return send(200, this.listEvents(m[1]!, url.searchParams.get("fieldSelector") ?? ""));
    if (request.method === "GET" && (m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname)))
      return send(200, this.listPods(m[1]!, url.searchParams.get("labelSelector") ?? ""));
    if (request.method === "GET" && (m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname)))
      return this.podLog(m[1]!, m[2]!, url.searchParams, res);
    send(404, status(404, "NotFound", "the server could not find the requested resource"));
  }

  private createJob(namespace: string, job: Json): [number, Json] {
    if (this.forbiddenNamespaces.has(namespace)) {
      return [
        403,
        status(
          403,
          "Forbidden",
          `jobs.batch is forbidden: User "${this.user}" cannot create resource "jobs" in API group "batch" in the namespace "${namespace}"`,
          { group: "batch", kind: "jobs" },
        ),
      ];
    }
    const metadata = (job["metadata"] ?? {}) as Json;
    const name = String(metadata["name"] ?? "");
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
      return [
        422,
        status(
          422,
          "Invalid",
          `Job.batch "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`,
          { name, group: "batch", kind: "Job" },
        ),
      ];
    }
    const invalid = this.invalidFields(job);
    if (invalid)
      return [
        422,
        status(422, "Invalid", `Job.batch "${name}" is invalid: ${invalid}`, { name, group: "batch", kind: "Job" }),
      ];
    if (this.jobs.has(`${namespace}/${name}`))
      return [
        409,
        status(409, "AlreadyExists", `jobs.batch "${name}" already exists`, { name, group: "batch", kind: "jobs" }),
      ];
    const uid = randomUUID();
    const spec = job["spec"] as Json;
    const template = spec["template"] as Json;
    const controllerLabels = {
      "batch.kubernetes.io/controller-uid": uid,
      "batch.kubernetes.io/job-name": name,
      "controller-uid": uid,
      "job-name": name,
    };
    const stored: Json = {
      ...job,
      metadata: {
        ...metadata,
        namespace,
        uid,
        resourceVersion: String(Date.now()),
        generation: 1,
        creationTimestamp: now(),
        labels: { ...((metadata["labels"] as Json) ?? {}) },
      },
      spec: {
        ...spec,
        completions: 1,
        parallelism: 1,
        selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
        template: {
          ...template,
          metadata: {
            ...((template["metadata"] as Json) ?? {}),
            labels: { ...(((template["metadata"] as Json)?.["labels"] as Json) ?? {}), ...controllerLabels },
          },
        },
      },
      status: { startTime: now(), active: 1 },
    };
    this.jobs.set(`${namespace}/${name}`, stored);
    const podSpec = template["spec"] as Json;
    const podName = `${name}-${randomBytes(3).toString("hex").slice(0, 5)}`;
    const refused = this.admitPod(namespace, `${name}-`, podSpec);
    if (refused) {
      this.event(namespace, "Job", name, "FailedCreate", `Error creating: ${refused}`);
      return [201, stored];
    }
    const plan = this.plan(stored);
    if (plan.kind === "no-pod") {
      // The Job controller retries the pod's creation; each attempt fails with the admission's words.
      this.event(namespace, "Job", name, "FailedCreate", `Error creating: ${plan.message}`);
      return [201, stored];
    }
    const containers = (podSpec["containers"] as Json[]).map((c) => ({
      name: c["name"],
      image: c["image"],
      ready: false,
      restartCount: 0,
      started: false,
      state: { waiting: { reason: "ContainerCreating" } },
    }));
    const pod: Json = {
      kind: "Pod",
      apiVersion: "v1",
      metadata: {
        name: podName,
        generateName: `${name}-`,
        namespace,
        uid: randomUUID(),
        creationTimestamp: now(),
        labels: { ...(((template["metadata"] as Json)?.["labels"] as Json) ?? {}), ...controllerLabels },
        ownerReferences: [
          { apiVersion: "batch/v1", kind: "Job", name, uid, controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: { ...podSpec, nodeName: "node-1" },
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "True" }],
        containerStatuses: containers,
        qosClass: "BestEffort",
      },
    };
    this.pods.set(`${namespace}/${podName}`, {
      pod,
      plan,
      polls: 0,
      logs: [],
      deleting: false,
      followers: new Map(),
      createdAt: Date.now(),
    });
    return [201, stored];
  }

  /** What the API server's validation refuses among the fields the worker sets (labels, env names). */
  private invalidFields(job: Json): string | null {
    const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
    const template = (job["spec"] as Json | undefined)?.["template"] as Json | undefined;
    const labelSets: [string, Json | undefined][] = [
      ["metadata.labels", (job["metadata"] as Json | undefined)?.["labels"] as Json | undefined],
      ["spec.template.metadata.labels", (template?.["metadata"] as Json | undefined)?.["labels"] as Json | undefined],
    ];
    for (const [path, labels] of labelSets)
      for (const [key, value] of Object.entries(labels ?? {})) {
        const v = String(value);
        if (v.length > 63 || !labelValue.test(v))
          return `${path}: Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (for key ${key})`;
      }
    const containers = ((template?.["spec"] as Json | undefined)?.["containers"] as Json[] | undefined) ?? [];
    for (const [i, c] of containers.entries())
      for (const [j, e] of ((c["env"] as Json[] | undefined) ?? []).entries()) {
        const n = String(e["name"]);
        if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(n))
          return `spec.template.spec.containers[${i}].env[${j}].name: Invalid value: "${n}": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit`;
      }
    return null;
  }

  private event(
    namespace: string,
    kind: string,
    name: string,
    reason: string,
    message: string,
    type = "Warning",
  ): void {
    const existing = this.events.find(
      (e) => (e["involvedObject"] as Json)["name"] === name && e["reason"] === reason && e["message"] === message,
    );
    if (existing) {
      existing["count"] = Number(existing["count"]) + 1;
      existing["lastTimestamp"] = now();
      return;
    }
    this.events.push({
      kind: "Event",
      apiVersion: "v1",
      metadata: { name: `${name}.${randomBytes(8).toString("hex")}`, namespace, creationTimestamp: now() },
      involvedObject: { kind, namespace, name, apiVersion: kind === "Job" ? "batch/v1" : "v1" },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now(),
      lastTimestamp: now(),
      source: {
        component: kind === "Job" ? "job-controller" : reason === "FailedScheduling" ? "default-scheduler" : "kubelet",
      },
    });
  }

  private listJobs(namespace: string, selector: string): Json {
    const wanted = selector
      .split(",")
      .filter(Boolean)
      .map((s) => s.split("=") as [string, string]);
    const items = [...this.jobs.values()].filter((j) => {
      const meta = j["metadata"] as Json;
      const labels = (meta["labels"] ?? {}) as Json;
      return meta["namespace"] === namespace && wanted.every(([k, v]) => labels[k] === v);
    });
    return { kind: "JobList", apiVersion: "batch/v1", metadata: { resourceVersion: String(Date.now()) }, items };
  }

  private listEvents(namespace: string, fieldSelector: string): Json {
    const name = /involvedObject\.name=([^,]+)/.exec(fieldSelector)?.[1];
    const items = this.events.filter(
      (e) =>
        (e["metadata"] as Json)["namespace"] === namespace &&
        (name === undefined || (e["involvedObject"] as Json)["name"] === name),
    );
    return { kind: "EventList", apiVersion: "v1", metadata: { resourceVersion: String(Date.now()) }, items };
  }

  /** The Job's conditions once its pod ended (backoffLimit 0: one failed pod fails the Job). */
  private conclude(entry: FakePod, succeeded: boolean, reason: string, message: string): void {
    const meta = entry.pod["metadata"] as Json;
    const job = this.jobs.get(`${String(meta["namespace"])}/${String((meta["labels"] as Json)["job-name"])}`);
    if (!job) return;
    const conditions = succeeded
      ? [{ type: "Complete", status: "True", lastTransitionTime: now() }]
      : [{ type: "Failed", status: "True", reason, message, lastTransitionTime: now() }];
    job["status"] = { ...(job["status"] as Json), active: 0, [succeeded ? "succeeded" : "failed"]: 1, conditions };
  }

  private deleteJob(namespace: string, name: string): [number, Json] {
    const job = this.jobs.get(`${namespace}/${name}`);
    if (!job)
      return [404, status(404, "NotFound", `jobs.batch "${name}" not found`, { name, group: "batch", kind: "jobs" })];
    this.jobs.delete(`${namespace}/${name}`);
    // Background propagation: the garbage collector deletes the pods after the Job.
    for (const entry of this.pods.values()) {
      const meta = entry.pod["metadata"] as Json;
      if ((meta["labels"] as Json)["job-name"] === name && meta["namespace"] === namespace) {
        entry.deleting = true;
        meta["deletionTimestamp"] = now();
        meta["deletionGracePeriodSeconds"] = 30;
      }
    }
    return [
      200,
      {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        details: { name, group: "batch", kind: "jobs", uid: (job["metadata"] as Json)["uid"] },
      },
    ];
  }

  private listPods(namespace: string, selector: string): Json {
    const wanted = selector
      .split(",")
      .filter(Boolean)
      .map((s) => s.split("=") as [string, string]);
    const items = [];
    for (const [key, entry] of [...this.pods]) {
      const meta = entry.pod["metadata"] as Json;
      const labels = meta["labels"] as Json;
      if (meta["namespace"] !== namespace || !wanted.every(([k, v]) => labels[k] === v)) continue;
      this.advance(entry);
      if (entry.gone || (entry.deleting && this.finished(entry) && entry.polls > 1)) {
        this.pods.delete(key);
        continue;
      }
      items.push(structuredClone(entry.pod));
    }
    return { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: String(Date.now()) }, items };
  }

  private finished(entry: FakePod): boolean {
    const phase = (entry.pod["status"] as Json)["phase"];
    return phase === "Succeeded" || phase === "Failed";
  }

  private advance(entry: FakePod): void {
    entry.polls++;
    const st = entry.pod["status"] as Json;
    const container = (st["containerStatuses"] as Json[])[0]!;
    const terminate = (phase: "Succeeded" | "Failed", exitCode: number, reason: string) => {
      st["phase"] = phase;
      container["state"] = {
        terminated: {
          exitCode,
          reason,
          startedAt: now(),
          finishedAt: now(),
          containerID: `containerd://${randomBytes(32).toString("hex")}`,
        },
      };
      container["ready"] = false;
      container["started"] = false;
      for (const res of entry.followers.keys()) res.end();
      entry.followers.clear();
      if (!entry.deleting)
        this.conclude(
          entry,
          phase === "Succeeded",
          "BackoffLimitExceeded",
          "Job has reached the specified backoff limit",
        );
    };
    if (this.finished(entry)) return;
    if (entry.deleting) {
      if (st["phase"] === "Running") terminate("Failed", 137, "Error");
      else if (!this.finished(entry)) terminate("Failed", 0, "ContainerStatusUnknown");
      entry.polls = 0;
      return;
    }
    const plan = entry.plan;
    const name = String((entry.pod["metadata"] as Json)["name"]);
    const namespace = String((entry.pod["metadata"] as Json)["namespace"]);
    if (st["phase"] === "Pending") {
      if (plan.kind === "wait") {
        container["state"] = { waiting: { reason: plan.reason, message: plan.message } };
        return;
      }
      if (plan.kind === "unschedulable") {
        delete (entry.pod["spec"] as Json)["nodeName"];
        st["conditions"] = [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: plan.message,
            lastTransitionTime: now(),
          },
        ];
        this.event(namespace, "Pod", name, "FailedScheduling", plan.message);
        return;
      }
      if (plan.kind === "pull-failing" && Date.now() - entry.createdAt < plan.forMs) {
        const image = String(container["image"]);
        const backoff = entry.polls % 2 === 0;
        container["state"] = {
          waiting: backoff
            ? { reason: "ImagePullBackOff", message: `Back-off pulling image "${image}"` }
            : {
                reason: "ErrImagePull",
                message: `failed to pull and unpack image "${image}": failed to resolve reference "${image}": unexpected status from HEAD request: 503 Service Unavailable`,
              },
        };
        this.event(
          namespace,
          "Pod",
          name,
          backoff ? "BackOff" : "Failed",
          String(
            (container["state"] as Json)["waiting"] && ((container["state"] as Json)["waiting"] as Json)["message"],
          ),
        );
        return;
      }
      st["phase"] = "Running";
      st["startTime"] = now();
      container["state"] = { running: { startedAt: now() } };
      container["ready"] = true;
      container["started"] = true;
      entry.polls = 0;
      this.writeLogs(entry, "logs" in plan ? (plan.logs ?? []) : []);
      return;
    }
    const ran = entry.polls > ("runningPolls" in plan ? (plan.runningPolls ?? 1) : 1);
    if ((plan.kind === "succeed" || plan.kind === "pull-failing") && ran) terminate("Succeeded", 0, "Completed");
    else if (plan.kind === "fail") terminate("Failed", plan.exitCode, plan.reason ?? "Error");
    else if (plan.kind === "evicted" && ran) {
      terminate("Failed", 137, "Error");
      st["reason"] = "Evicted";
      st["message"] = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91340Ki.";
      this.event(namespace, "Pod", name, "Evicted", String(st["message"]));
    } else if (plan.kind === "node-lost" && ran && !(entry.pod["metadata"] as Json)["deletionTimestamp"]) {
      // The node stopped reporting; the taint manager evicts the pod, which cannot terminate.
      st["conditions"] = [
        { type: "Ready", status: "False", reason: "NodeNotReady", lastTransitionTime: now() },
        {
          type: "DisruptionTarget",
          status: "True",
          reason: "DeletionByTaintManager",
          message: "Taint manager: deleting due to NoExecute taint",
          lastTransitionTime: now(),
        },
      ];
      (entry.pod["metadata"] as Json)["deletionTimestamp"] = now();
    } else if (plan.kind === "deadline" && ran) {
      this.conclude(entry, false, "DeadlineExceeded", "Job was active longer than specified deadline");
      entry.gone = true;
      for (const res of entry.followers.keys()) res.end();
      entry.followers.clear();
    } else if (plan.kind === "sidecar" && ran && !(container["state"] as Json)["terminated"]) {
      // The flow container ends; the sidecar (not listed first) keeps the pod Running.
      container["state"] = { terminated: { exitCode: 0, reason: "Completed", startedAt: now(), finishedAt: now() } };
      container["ready"] = false;
      for (const res of entry.followers.keys()) res.end();
      entry.followers.clear();
    }
  }

  private logSequence = 0;

  private writeLogs(entry: FakePod, lines: string[]): void {
    for (const line of lines) {
      // Nanosecond precision, as the kubelet writes them: milliseconds plus a sequence number.
      const time = `${new Date().toISOString().slice(0, -1)}${String(++this.logSequence % 1_000_000).padStart(6, "0")}Z`;
      entry.logs.push({ time, line });
      for (const [res, stamped] of entry.followers) res.write(`${stamped ? `${time} ` : ""}${line}\n`);
    }
  }

  /** Appends lines to the log of Job `name`'s pod (its flow container writing more output). */
  appendLogs(namespace: string, name: string, lines: string[]): void {
    for (const entry of this.pods.values()) {
      const meta = entry.pod["metadata"] as Json;
      if (meta["namespace"] === namespace && (meta["labels"] as Json)["job-name"] === name)
        this.writeLogs(entry, lines);
    }
  }

  /** Ends every followed log stream while the containers keep running (a proxy closing idle streams). */
  dropLogStreams(): void {
    for (const entry of this.pods.values()) {
      for (const res of entry.followers.keys()) res.end();
      entry.followers.clear();
    }
  }

  private podLog(namespace: string, name: string, params: URLSearchParams, res: http.ServerResponse): void {
    const entry = this.pods.get(`${namespace}/${name}`);
    if (!entry) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify(status(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" })));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
    const stamped = params.get("timestamps") === "true";
    // sinceTime has seconds precision: every line from that second on.
    const since = params.get("sinceTime") ? Date.parse(params.get("sinceTime")!) : null;
    for (const { time, line } of entry.logs)
      if (since === null || Date.parse(time.replace(/(\.\d{3})\d*Z$/, "$1Z")) >= since)
        res.write(`${stamped ? `${time} ` : ""}${line}\n`);
    if (params.get("follow") === "true" && !this.finished(entry)) {
      entry.followers.set(res, stamped);
      res.once("close", () => entry.followers.delete(res));
    } else {
      res.end();
    }
  }
}
