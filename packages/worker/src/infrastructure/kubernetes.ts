// The `kubernetes` pool: each run is a batch/v1 Job with one pod, created in the job's namespace.
//
// Auth: KubeConfig.loadFromDefault() — the in-cluster service account when the worker runs in a pod,
// else KUBECONFIG or ~/.kube/config. The worker's Role (infra/kubernetes/role.yaml) needs
// create/get/list/delete on jobs, get/list on pods and pods/log, and list on events.
//
// Watching polls the Job's pods (label selector job-name=NAME, set by the Job controller) every few
// seconds rather than holding a watch: a watch needs resourceVersion bookkeeping and reconnects
// (expired versions, idle proxies closing the stream) to be as reliable, and one list per run per
// interval is cheap. The Job itself is read only when its pod gives no answer (none yet, or still
// Pending), and events only to explain a start that failed: Job conditions and the Job's and pod's
// Warning events carry the real reason (quota, service account, Pod Security, unschedulable). With
// stream_output the pod's log (stdout and stderr interleaved, as the kubelet keeps them) is followed
// once the container has started and sent to the run's logs.
//
// What ends a run, and when: the flow container's own exit (even while a sidecar keeps the pod
// Running); the Job's Failed condition; an evicted pod or one on a lost node (DisruptionTarget,
// phase Unknown); a pod not started within pod_watch_timeout_seconds (with the scheduler's or the
// Job controller's reason); an image that still cannot be pulled after imagePullTimeoutMs (the
// kubelet retries pulls, so one ErrImagePull is not the end). 429s, 5xx and network errors on the
// create and the polls are retried with backoff for a bounded time; a Job the worker cannot see for
// lostAfterMs is given up only while its runner is silent too, and is then deleted.
//
// Retries belong to the orchestrator, so the Job has backoffLimit 0 and restartPolicy Never: a pod
// that fails ends the Job, and the server decides whether the flow run runs again.
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  type CoreV1Event,
  type V1Job,
  type V1Pod,
} from "@kubernetes/client-node";
import { JobConfiguration, randomSuffix, sleep, slug } from "./job-configuration.ts";
import { causeOf, FailingLooks, retryCall, waitUntilStopped } from "./retry.ts";
import {
  InfrastructureError,
  type ExitResult,
  type FoundJob,
  type Infrastructure,
  type JobSpec,
  type RunningJob,
} from "./types.ts";

export interface KubernetesInfrastructureOptions {
  /** Cluster access; default: KubeConfig.loadFromDefault() (in-cluster or kubeconfig). */
  kubeConfig?: KubeConfig;
  /** How often the Job's pods are listed (default 2 s). */
  pollIntervalMs?: number;
  /** How long 429, 5xx, 401 and network errors are retried on a create or delete (default 120 s). */
  retryForMs?: number;
  /** First retry delay (default 500 ms; doubled per attempt up to 10 s, with jitter). */
  retryDelayMs?: number;
  /** How long pod listings may fail before the Job counts as lost, if its runner is silent (default 120 s). */
  lostAfterMs?: number;
  /** How long ErrImagePull / ImagePullBackOff may last before the run ends (default 120 s). */
  imagePullTimeoutMs?: number;
  /** How long a stop waits for the Job's pod to end before it reports failure (default 120 s). */
  stopWaitMs?: number;
}

/** The container that runs the flow in the Job's pod. */
export const CONTAINER_NAME = "flowplane";

/**
 * Waiting reasons after which a pod will not start by itself: the run is ended (and its Job deleted)
 * with the kubelet's message instead of waiting out pod_watch_timeout_seconds.
 */
const FATAL_WAITING_REASONS = new Set(["InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError"]);
/** Pull failures the kubelet itself retries (a registry blip, a tag pushed late): fatal only if they last. */
const PULL_WAITING_REASONS = new Set(["ErrImagePull", "ImagePullBackOff"]);

const OUTPUT_DRAIN_MS = 2_000;

export interface KubernetesJobSettings {
  namespace: string;
  name: string;
  podWatchTimeoutMs: number;
  streamOutput: boolean;
  manifest: V1Job;
}

/** A label value as Kubernetes accepts it: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends. */
function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/** The Job for a run (pure: no API calls). */
export function kubernetesJobSettings(job: JobSpec): KubernetesJobSettings {
  const config = new JobConfiguration(job.configuration);
  const namespace = config.string("namespace", "default");
  const name = `${slug(job.flowRunName, 50) || "flowplane"}-${randomSuffix()}`;
  // The worker's labels (flowplane.run-id, flowplane.worker) under the flowplane.io/ prefix.
  const ownLabels = Object.fromEntries(
    Object.entries(job.labels).map(([k, v]) => [k.replace(/^flowplane\./, "flowplane.io/"), labelValue(v)]),
  );
  const labels = { ...config.stringMap("labels"), ...ownLabels };
  const command = config.command();
  const resources: { requests?: Record<string, string>; limits?: Record<string, string> } = {};
  for (const [kind, resource, key] of [
    ["requests", "cpu", "cpu_request"],
    ["requests", "memory", "memory_request"],
    ["limits", "cpu", "cpu_limit"],
    ["limits", "memory", "memory_limit"],
  ] as const) {
    const quantity = config.optionalText(key);
    if (quantity !== null) (resources[kind] ??= {})[resource] = quantity;
  }
  const serviceAccountName = config.optionalString("service_account_name");
  const ttl = config.optionalNumber("ttl_seconds_after_finished");
  const backoffLimit = config.optionalNumber("backoff_limit") ?? 0;
  const env = { ...config.stringMap("env"), ...job.env };
  const manifest: V1Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace, labels, annotations: { "flowplane.io/flow-run-name": job.flowRunName } },
    spec: {
      backoffLimit,
      ...(ttl !== null ? { ttlSecondsAfterFinished: ttl } : {}),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          ...(serviceAccountName ? { serviceAccountName } : {}),
          containers: [
            {
              name: CONTAINER_NAME,
              image: config.string("image"),
              imagePullPolicy: config.oneOf("image_pull_policy", ["IfNotPresent", "Always", "Never"], "IfNotPresent"),
              // No command: the image's own (the flowplane image runs the runner).
              ...(command ? { command } : {}),
              env: Object.entries(env).map(([n, value]) => ({ name: n, value })),
              ...(resources.requests || resources.limits ? { resources } : {}),
            },
          ],
        },
      },
    },
  };
  return {
    namespace,
    name,
    podWatchTimeoutMs: (config.optionalNumber("pod_watch_timeout_seconds") ?? 240) * 1000,
    streamOutput: config.boolean("stream_output", true),
    manifest,
  };
}

/** The API server's own words from an error: its Status reason and message when it sent one. */
export function kubernetesMessage(err: unknown): string {
  if (err instanceof ApiException) {
    let body: unknown = err.body;
    if (typeof err.body === "string") {
      const text = err.body;
      try {
        body = JSON.parse(text);
      } catch {
        return `HTTP ${err.code}: ${text.slice(0, 500)}`;
      }
    }
    const status = body as { kind?: string; reason?: string; message?: string } | undefined;
    if (status?.message) return `${status.reason ? `${status.reason}: ` : ""}${status.message}`;
    return `HTTP ${err.code}`;
  }
  const cause = (err as { cause?: { message?: string } })?.cause?.message;
  const message = err instanceof Error ? err.message : String(err);
  return cause ? `${message} (${cause})` : message;
}

function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/**
 * How a pod ended; null while it runs. The flow container's exit ends the run even while the pod
 * stays Running (a sidecar that does not exit). A pod the kubelet failed (Evicted, DeadlineExceeded,
 * a node shutdown) is reported with the pod's reason, which says more than the container's 137.
 */
export function podExitResult(pod: V1Pod, stopped: boolean): ExitResult | null {
  const phase = pod.status?.phase;
  const container =
    pod.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME) ?? pod.status?.containerStatuses?.[0];
  const terminated = container?.state?.terminated;
  const why = [pod.status?.reason, pod.status?.message].filter(Boolean).join(": ");
  if (phase === "Failed" && pod.status?.reason)
    return { exitCode: terminated?.exitCode ?? null, reason: `pod failed: ${why}`, stopped };
  if (terminated && (phase === "Succeeded" || phase === "Failed" || phase === "Running")) {
    if (terminated.reason === "OOMKilled") return { exitCode: terminated.exitCode, reason: "OOMKilled", stopped };
    return { exitCode: terminated.exitCode, reason: `exited with code ${terminated.exitCode}`, stopped };
  }
  if (phase !== "Succeeded" && phase !== "Failed") return null;
  return { exitCode: null, reason: `pod ${phase.toLowerCase()}${why ? `: ${why}` : ""}`, stopped };
}

/** A pod whose node is gone or which is being evicted from it (not by the worker): its reason. */
function disrupted(pod: V1Pod): string | null {
  const target = pod.status?.conditions?.find((c) => c.type === "DisruptionTarget" && c.status === "True");
  if (target) return `pod disrupted: ${[target.reason, target.message].filter(Boolean).join(": ")}`;
  if (pod.status?.phase === "Unknown")
    return `pod phase Unknown: the node ${pod.spec?.nodeName ?? ""} stopped reporting (node lost)`.replace("  ", " ");
  return null;
}

/** Why a Pending pod is not running: not scheduled (the scheduler's message) or a container waiting. */
function pendingReason(pod: V1Pod): string {
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False")
    return `unschedulable: ${scheduled.message ?? scheduled.reason ?? "no reason given"}`;
  for (const c of pod.status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting;
    if (waiting?.reason) return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`;
  }
  return `phase ${pod.status?.phase ?? "unknown"}`;
}

/** The Job's Failed condition (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy...), or null. */
function jobFailure(job: V1Job | null): string | null {
  const failed = job?.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
  return failed ? `Job failed: ${[failed.reason, failed.message].filter(Boolean).join(": ")}` : null;
}

/** The newest Warning event's words ("FailedCreate: pods ... is forbidden: exceeded quota"), or null. */
function latestWarning(events: CoreV1Event[]): string | null {
  const time = (e: CoreV1Event) =>
    new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
  const warning = events.filter((e) => e.type === "Warning").sort((a, b) => time(b) - time(a))[0];
  return warning ? `${warning.reason ?? "Warning"}: ${warning.message ?? ""}`.trim() : null;
}

/** 429, 5xx, 401 (a rotated token is re-read), and no answer at all pass; other refusals do not. */
export function transientKubernetesError(err: unknown): boolean {
  if (err instanceof InfrastructureError) return err.transient;
  const code = statusCode(err);
  if (code !== undefined) return code === 429 || code === 401 || code >= 500;
  return true;
}

/** A waiting container whose reason is in `reasons`: its words, or null. */
function waitingFor(pod: V1Pod, reasons: Set<string>): string | null {
  for (const c of pod.status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && reasons.has(waiting.reason))
      return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`;
  }
  return null;
}

function newest(pods: V1Pod[]): V1Pod | undefined {
  return [...pods].sort(
    (a, b) =>
      new Date(b.metadata?.creationTimestamp ?? 0).getTime() - new Date(a.metadata?.creationTimestamp ?? 0).getTime(),
  )[0];
}

/** "namespace/name" (RunningJob.id) → its parts. */
function jobLocation(id: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = id.split("/");
  if (!namespace || !name || rest.length > 0)
    throw new InfrastructureError(`infrastructure id ${JSON.stringify(id)} is not a Kubernetes Job (namespace/name)`);
  return { namespace, name };
}

export class KubernetesInfrastructure implements Infrastructure {
  readonly type = "kubernetes" as const;
  private readonly kubeConfig: KubeConfig;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly pollIntervalMs: number;
  private readonly retryForMs: number;
  private readonly retryDelayMs: number;
  private readonly lostAfterMs: number;
  private readonly imagePullTimeoutMs: number;
  private readonly stopWaitMs: number;

  constructor(options: KubernetesInfrastructureOptions = {}) {
    this.kubeConfig = options.kubeConfig ?? loadDefaultKubeConfig();
    this.batch = this.kubeConfig.makeApiClient(BatchV1Api);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.retryForMs = options.retryForMs ?? 120_000;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.lostAfterMs = options.lostAfterMs ?? 120_000;
    this.imagePullTimeoutMs = options.imagePullTimeoutMs ?? 120_000;
    this.stopWaitMs = options.stopWaitMs ?? 120_000;
  }

  /** `call` retried while its errors pass, for retryForMs; each retry is told to `onEvent`. */
  private retrying<T>(what: string, call: () => Promise<T>, onEvent?: (message: string) => void): Promise<T> {
    return retryCall(
      {
        transient: transientKubernetesError,
        forMs: this.retryForMs,
        initialDelayMs: this.retryDelayMs,
        describe: kubernetesMessage,
      },
      what,
      call,
      onEvent,
    );
  }

  async submit(job: JobSpec): Promise<RunningJob> {
    const settings = kubernetesJobSettings(job);
    const { namespace, name } = settings;
    let attempts = 0;
    try {
      await this.retrying(
        `creating Kubernetes Job ${namespace}/${name}`,
        async () => {
          attempts++;
          try {
            await this.batch.createNamespacedJob({ namespace, body: settings.manifest });
          } catch (err) {
            // The name is this submission's own: AlreadyExists on a retry means the earlier attempt
            // created the Job and only its answer was lost.
            if (attempts > 1 && statusCode(err) === 409) return;
            throw err;
          }
        },
        job.onEvent,
      );
    } catch (err) {
      const { cause, retried } = causeOf(err);
      throw new InfrastructureError(
        `could not create Kubernetes Job in namespace "${namespace}" on ${this.server()}: ${kubernetesMessage(cause)}${retried}`,
        transientKubernetesError(cause),
      );
    }
    let stopRequested = false;
    const exited = this.watch(settings, job, () => stopRequested);
    return {
      id: `${namespace}/${name}`,
      exited,
      stop: async () => {
        // Background propagation: the Job goes at once, its pod is deleted by the garbage collector
        // with the pod's own termination grace period.
        stopRequested = true;
        await this.deleteJob(namespace, name);
        await exited;
      },
    };
  }

  /** Deletes the Job (its pod follows), retried while transient; a Job already gone is fine. */
  private async deleteJob(namespace: string, name: string): Promise<void> {
    try {
      await this.retrying(`deleting Kubernetes Job ${namespace}/${name}`, async () => {
        try {
          await this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" });
        } catch (err) {
          if (statusCode(err) !== 404) throw err;
        }
      });
    } catch (err) {
      const { cause } = causeOf(err);
      throw new InfrastructureError(
        `could not delete Kubernetes Job ${namespace}/${name}: ${kubernetesMessage(cause)}`,
        transientKubernetesError(cause),
      );
    }
  }

  async stop(id: string): Promise<void> {
    const { namespace, name } = jobLocation(id);
    await this.deleteJob(namespace, name);
    // Stopped once its pod has ended, is terminating or is gone: a run must not read CANCELLED while
    // its flow still runs.
    await waitUntilStopped(
      () =>
        this.core
          .listNamespacedPod({ namespace, labelSelector: `job-name=${name}` })
          .then((l) => l.items)
          .catch(() => null),
      (pods) => pods !== null && pods.every((p) => p.metadata?.deletionTimestamp || podExitResult(p, true)),
      {
        forMs: this.stopWaitMs,
        intervalMs: this.pollIntervalMs,
        stillRunning: (_pods, seconds) =>
          `Kubernetes Job ${id} was deleted but its pod is still running after ${seconds} s`,
      },
    );
  }

  jobLocation(of: { configuration: Record<string, unknown> } | { id: string }): Promise<{ namespace: string }> {
    const namespace =
      "id" in of ? jobLocation(of.id).namespace : new JobConfiguration(of.configuration).string("namespace", "default");
    return Promise.resolve({ namespace });
  }

  async findJobs(labels: Record<string, string>, configuration: Record<string, unknown>): Promise<FoundJob[]> {
    const namespace = new JobConfiguration(configuration).string("namespace", "default");
    const labelSelector = Object.entries(labels)
      .map(([k, v]) => `${k.replace(/^flowplane\./, "flowplane.io/")}=${labelValue(v)}`)
      .join(",");
    const list = await this.retrying(`listing Kubernetes Jobs in ${namespace}`, () =>
      this.batch.listNamespacedJob({ namespace, labelSelector }),
    );
    return list.items.map((j) => ({
      id: `${namespace}/${j.metadata?.name}`,
      flowRunId: j.metadata?.labels?.["flowplane.io/run-id"] ?? null,
      finished: (j.status?.conditions ?? []).some(
        (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
      ),
    }));
  }

  private server(): string {
    return this.kubeConfig.getCurrentCluster()?.server ?? "the cluster";
  }

  /** The Job and the Warning events about it and its pod, to explain a start that did not happen. */
  private async whyNotStarted(namespace: string, name: string, pod: V1Pod | undefined): Promise<string | null> {
    const job = await this.batch.readNamespacedJob({ name, namespace }).catch(() => null);
    const failed = jobFailure(job);
    if (failed) return failed;
    const eventsOf = (objectName: string) =>
      this.core
        .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${objectName}` })
        .then((l) => l.items)
        .catch(() => [] as CoreV1Event[]);
    const events = [...(await eventsOf(name)), ...(pod?.metadata?.name ? await eventsOf(pod.metadata.name) : [])];
    return latestWarning(events);
  }

  private async watch(
    settings: KubernetesJobSettings,
    job: JobSpec,
    stopRequested: () => boolean,
  ): Promise<ExitResult> {
    const { namespace, name } = settings;
    const onOutput = job.onOutput;
    const startDeadline = Date.now() + settings.podWatchTimeoutMs;
    let started = false;
    let seenPod = false;
    const failing = new FailingLooks(this.lostAfterMs);
    let pullFailingSince: number | null = null;
    let logs: { done: Promise<void>; ended(): void; abort(): void } | null = null;
    const finish = async (result: ExitResult): Promise<ExitResult> => {
      if (logs) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([logs.done, new Promise<void>((r) => (timer = setTimeout(r, OUTPUT_DRAIN_MS)))]);
        clearTimeout(timer);
        logs.abort();
      }
      return result;
    };
    const giveUp = async (reason: string, lost = false): Promise<ExitResult> => {
      // The Job would otherwise sit in the cluster (or start late, behind the orchestrator's back).
      await this.deleteJob(namespace, name).catch((err: unknown) =>
        job.onEvent?.(err instanceof Error ? err.message : String(err)),
      );
      return finish({ exitCode: null, reason, stopped: stopRequested(), ...(lost ? { lost } : {}) });
    };
    for (;;) {
      await sleep(this.pollIntervalMs);
      let pod: V1Pod | undefined;
      try {
        const list = await this.core.listNamespacedPod({ namespace, labelSelector: `job-name=${name}` });
        pod = newest(list.items);
        failing.succeeded();
      } catch (err) {
        // 429, a 5xx, the API server restarting: the Job is fine, only our view of it is not.
        const lastError = kubernetesMessage(err);
        if (await failing.keepWatching(job, `listing the pods of Job ${namespace}/${name}`, lastError)) continue;
        return giveUp(`lost track of Kubernetes Job ${namespace}/${name}: ${lastError}`, true);
      }
      if (stopRequested()) {
        // Deleted by stop(): done once the pod has finished, is terminating, or is gone.
        if (!pod || pod.metadata?.deletionTimestamp || podExitResult(pod, true)) {
          return finish(
            pod && podExitResult(pod, true)
              ? podExitResult(pod, true)!
              : { exitCode: null, reason: "Job deleted", stopped: true },
          );
        }
        continue;
      }
      if (!pod) {
        if (seenPod) {
          // Deleted by someone, or by the Job controller on a Failed condition (activeDeadlineSeconds).
          const job = await this.batch.readNamespacedJob({ name, namespace }).catch(() => null);
          const failed = jobFailure(job);
          return finish({
            exitCode: null,
            reason: `pod of Job ${namespace}/${name} disappeared${failed ? `: ${failed}` : ""}`,
            stopped: false,
          });
        }
        if (Date.now() > startDeadline) {
          const why = await this.whyNotStarted(namespace, name, undefined);
          return giveUp(
            `no pod was created for Job ${namespace}/${name} within ${settings.podWatchTimeoutMs / 1000} s${why ? `: ${why}` : ""}`,
          );
        }
        continue;
      }
      seenPod = true;
      const ended = podExitResult(pod, false);
      const phase = pod.status?.phase;
      if ((phase === "Running" || ended) && !started) {
        started = true;
        if (settings.streamOutput) logs = this.followLogs(namespace, pod.metadata!.name!, onOutput);
      }
      if (ended) {
        logs?.ended();
        // A sidecar may keep the pod (and the Job) alive after the flow ended: the Job goes now.
        if (phase === "Running") await this.deleteJob(namespace, name).catch(() => {});
        return finish(ended);
      }
      const disruption = disrupted(pod);
      if (disruption) return giveUp(`${disruption} (pod ${pod.metadata?.name})`);
      if (!started) {
        const fatal = waitingFor(pod, FATAL_WAITING_REASONS);
        if (fatal) return giveUp(`pod ${pod.metadata?.name} could not start: ${fatal}`);
        const pulling = waitingFor(pod, PULL_WAITING_REASONS);
        if (pulling) {
          pullFailingSince ??= Date.now();
          if (Date.now() - pullFailingSince >= this.imagePullTimeoutMs)
            return giveUp(
              `pod ${pod.metadata?.name} could not start: ${pulling} (the kubelet retried the pull for ${Math.round((Date.now() - pullFailingSince) / 1000)} s)`,
            );
        } else pullFailingSince = null;
        if (Date.now() > startDeadline) {
          // The pod's own status says why when it can; events otherwise (a webhook, a volume).
          const pending = pendingReason(pod);
          const why = pending.startsWith("phase ") ? await this.whyNotStarted(namespace, name, pod) : null;
          return giveUp(
            `pod ${pod.metadata?.name} did not start within ${settings.podWatchTimeoutMs / 1000} s (${why ?? pending})`,
          );
        }
      }
    }
  }

  /**
   * Follows the flow container's log. A follow that ends while the container runs (an idle proxy
   * or load balancer closing it, the API server restarting) is resumed from the last line's time:
   * lines come with their timestamps, so those already delivered are skipped. `ended()` tells it
   * the container has ended, so the end of the stream is the end of the log.
   */
  private followLogs(
    namespace: string,
    pod: string,
    onOutput: JobSpec["onOutput"],
  ): { done: Promise<void>; ended(): void; abort(): void } {
    let aborted = false;
    let containerEnded = false;
    let controller: AbortController | null = null;
    let sink: PassThrough | null = null;
    let last: string | null = null;
    const followOnce = async (): Promise<void> => {
      const current = new PassThrough();
      sink = current;
      const lines = createInterface({ input: current, crlfDelay: Infinity });
      lines.on("line", (raw) => {
        const space = raw.indexOf(" ");
        const stamp = space > 0 ? raw.slice(0, space) : "";
        // RFC 3339 times of one format order as text; a resumed follow repeats the last second.
        if (last !== null && stamp <= last) return;
        if (stamp) last = stamp;
        onOutput(space > 0 ? raw.slice(space + 1) : raw, "stdout");
      });
      const closed = new Promise<void>((resolve) => lines.once("close", resolve));
      try {
        const since = last ? { sinceTime: last.replace(/\.\d+Z$/, "Z") } : {};
        controller = await new Log(this.kubeConfig).log(namespace, pod, CONTAINER_NAME, current, {
          follow: true,
          timestamps: true,
          ...since,
        });
        if (aborted) controller.abort();
      } catch (err) {
        // Logs are a convenience: the run goes on without them.
        onOutput(`flowplane worker: could not follow the logs of pod ${pod}: ${kubernetesMessage(err)}`, "stderr");
        current.end();
      }
      await closed;
    };
    const done = (async () => {
      for (let attempt = 0; !aborted; attempt++) {
        await followOnce();
        if (aborted || containerEnded) return;
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));
      }
    })();
    return {
      done,
      ended() {
        containerEnded = true;
      },
      abort() {
        aborted = true;
        controller?.abort();
        sink?.end();
      },
    };
  }
}

function loadDefaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
