// An in-process stand-in for the Kubernetes API server, for tests: a node:http server implementing
// the subset the kubernetes pool uses, with objects and Status errors shaped like the real API:
//
//   POST   /apis/batch/v1/namespaces/{ns}/jobs
//   DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}?propagationPolicy=...
//   GET    /api/v1/namespaces/{ns}/pods?labelSelector=k=v,...
//   GET    /api/v1/namespaces/{ns}/pods/{name}/log?container=...&follow=true
//
// Creating a Job creates its pod at once (as the Job controller would, with the job-name and
// controller-uid labels); the pod advances one step per pod listing (Pending → Running → its
// planned end), so a watcher sees intermediate phases. Every request is recorded.
import { randomBytes, randomUUID } from "node:crypto";
import type http from "node:http";
import { serveOnLoopback, type LoopbackServer } from "./loopback-server.ts";

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
  | { kind: "run-until-deleted"; logs?: string[] };

type Json = Record<string, unknown>;

interface FakePod {
  pod: Json;
  plan: PodPlan;
  polls: number;
  logs: string[];
  deleting: boolean;
  /** Log responses being followed, ended when the container ends. */
  followers: Set<http.ServerResponse>;
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

export class FakeKubernetes {
  readonly requests: KubeRequest[] = [];
  /** Namespaces the worker's service account may not write to (403 Forbidden). */
  readonly forbiddenNamespaces = new Set<string>();
  /** The service account named in Forbidden messages. */
  user = "system:serviceaccount:flowplane:flowplane-worker";
  plan: (job: Json) => PodPlan = () => ({ kind: "succeed" });

  readonly jobs = new Map<string, Json>();
  readonly pods = new Map<string, FakePod>();
  private server!: LoopbackServer;
  url = "";

  static async start(): Promise<FakeKubernetes> {
    const fake = new FakeKubernetes();
    fake.server = await serveOnLoopback((req, res) => void fake.handle(req, res));
    fake.url = fake.server.url;
    return fake;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** Requests other than pod listings and log reads (which depend on timing). */
  writes(): KubeRequest[] {
    return this.requests.filter((r) => r.method !== "GET");
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://fake");
    const text = Buffer.concat(chunks).toString("utf8");
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
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    let m: RegExpExecArray | null;
    if (request.method === "POST" && (m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/.exec(url.pathname)))
      return send(...this.createJob(m[1]!, body as Json));
    if (
      request.method === "DELETE" &&
      (m = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/.exec(url.pathname))
    )
      return send(...this.deleteJob(m[1]!, m[2]!));
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
    const plan = this.plan(stored);
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
    this.pods.set(`${namespace}/${podName}`, { pod, plan, polls: 0, logs: [], deleting: false, followers: new Set() });
    return [201, stored];
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
      if (entry.deleting && this.finished(entry) && entry.polls > 1) {
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
      for (const res of entry.followers) res.end();
      entry.followers.clear();
    };
    if (this.finished(entry)) return;
    if (entry.deleting) {
      if (st["phase"] === "Running") terminate("Failed", 137, "Error");
      else if (!this.finished(entry)) terminate("Failed", 0, "ContainerStatusUnknown");
      entry.polls = 0;
      return;
    }
    const plan = entry.plan;
    if (st["phase"] === "Pending") {
      if (plan.kind === "wait") {
        container["state"] = { waiting: { reason: plan.reason, message: plan.message } };
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
    if (plan.kind === "succeed" && entry.polls > (plan.runningPolls ?? 1)) terminate("Succeeded", 0, "Completed");
    else if (plan.kind === "fail") terminate("Failed", plan.exitCode, plan.reason ?? "Error");
  }

  private writeLogs(entry: FakePod, lines: string[]): void {
    entry.logs.push(...lines);
    for (const res of entry.followers) for (const line of lines) res.write(`${line}\n`);
  }

  private podLog(namespace: string, name: string, params: URLSearchParams, res: http.ServerResponse): void {
    const entry = this.pods.get(`${namespace}/${name}`);
    if (!entry) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify(status(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" })));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
    for (const line of entry.logs) res.write(`${line}\n`);
    if (params.get("follow") === "true" && !this.finished(entry)) {
      entry.followers.add(res);
      res.once("close", () => entry.followers.delete(res));
    } else {
      res.end();
    }
  }
}
