// The `kubernetes` pool: each run is a batch/v1 Job with one pod, created in the job's namespace.
//
// Auth: KubeConfig.loadFromDefault() — the in-cluster service account when the worker runs in a pod,
// else KUBECONFIG or ~/.kube/config. The worker's Role needs create/delete on jobs and
// get/list on pods and pods/log (infra/kubernetes/worker.yaml).
//
// Watching polls the Job's pods (label selector job-name=NAME, set by the Job controller) every few
// seconds rather than holding a watch: a watch needs resourceVersion bookkeeping and reconnects
// (expired versions, idle proxies closing the stream) to be as reliable, and one list per run per
// interval is cheap. Output: with stream_output the pod's log (stdout and stderr interleaved, as the
// kubelet keeps them) is followed once the container has started and sent to the run's logs.
//
// Retries belong to the orchestrator, so the Job has backoffLimit 0 and restartPolicy Never: a pod
// that fails ends the Job, and the server decides whether the flow run runs again.
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import { ApiException, BatchV1Api, CoreV1Api, KubeConfig, Log, type V1Job, type V1Pod } from "@kubernetes/client-node";
import { JobConfiguration, randomSuffix, sleep, slug } from "./job-configuration.ts";
import { InfrastructureError, type ExitResult, type Infrastructure, type JobSpec, type RunningJob } from "./types.ts";

export interface KubernetesInfrastructureOptions {
  /** Cluster access; default: KubeConfig.loadFromDefault() (in-cluster or kubeconfig). */
  kubeConfig?: KubeConfig;
  /** How often the Job's pods are listed (default 2 s). */
  pollIntervalMs?: number;
  /** Consecutive failed pod listings after which the Job counts as lost (default 15). */
  maxWatchErrors?: number;
}

/** The container that runs the flow in the Job's pod. */
export const CONTAINER_NAME = "flowplane";

/**
 * Waiting reasons after which a pod will not start by itself: the run is ended (and its Job deleted)
 * with the kubelet's message instead of waiting out pod_watch_timeout_seconds.
 */
const FATAL_WAITING_REASONS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
]);

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
    podWatchTimeoutMs: (config.optionalNumber("pod_watch_timeout_seconds") ?? 300) * 1000,
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

/** How a finished pod ended; null while it is not finished. */
export function podExitResult(pod: V1Pod, stopped: boolean): ExitResult | null {
  const phase = pod.status?.phase;
  if (phase !== "Succeeded" && phase !== "Failed") return null;
  const container =
    pod.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME) ?? pod.status?.containerStatuses?.[0];
  const terminated = container?.state?.terminated;
  if (terminated) {
    if (terminated.reason === "OOMKilled") return { exitCode: terminated.exitCode, reason: "OOMKilled", stopped };
    return { exitCode: terminated.exitCode, reason: `exited with code ${terminated.exitCode}`, stopped };
  }
  // Evicted, DeadlineExceeded...: the pod failed without its container reporting an exit.
  const why = [pod.status?.reason, pod.status?.message].filter(Boolean).join(": ");
  return { exitCode: null, reason: `pod ${phase.toLowerCase()}${why ? `: ${why}` : ""}`, stopped };
}

/** A reason the pod will never start, or null. */
function fatalWaiting(pod: V1Pod): string | null {
  for (const c of pod.status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && FATAL_WAITING_REASONS.has(waiting.reason))
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

export class KubernetesInfrastructure implements Infrastructure {
  readonly type = "kubernetes" as const;
  private readonly kubeConfig: KubeConfig;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly pollIntervalMs: number;
  private readonly maxWatchErrors: number;

  constructor(options: KubernetesInfrastructureOptions = {}) {
    this.kubeConfig = options.kubeConfig ?? loadDefaultKubeConfig();
    this.batch = this.kubeConfig.makeApiClient(BatchV1Api);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.maxWatchErrors = options.maxWatchErrors ?? 15;
  }

  async submit(job: JobSpec): Promise<RunningJob> {
    const settings = kubernetesJobSettings(job);
    const { namespace, name } = settings;
    try {
      await this.batch.createNamespacedJob({ namespace, body: settings.manifest });
    } catch (err) {
      throw new InfrastructureError(
        `could not create Kubernetes Job in namespace "${namespace}" on ${this.server()}: ${kubernetesMessage(err)}`,
      );
    }
    let stopRequested = false;
    const exited = this.watch(settings, job.onOutput, () => stopRequested);
    const deleteJob = async () => {
      try {
        await this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" });
      } catch (err) {
        if (statusCode(err) !== 404)
          throw new InfrastructureError(
            `could not delete Kubernetes Job ${namespace}/${name}: ${kubernetesMessage(err)}`,
          );
      }
    };
    return {
      id: `${namespace}/${name}`,
      exited,
      async stop() {
        // Background propagation: the Job goes at once, its pod is deleted by the garbage collector
        // with the pod's own termination grace period.
        stopRequested = true;
        await deleteJob();
        await exited;
      },
    };
  }

  private server(): string {
    return this.kubeConfig.getCurrentCluster()?.server ?? "the cluster";
  }

  private async watch(
    settings: KubernetesJobSettings,
    onOutput: JobSpec["onOutput"],
    stopRequested: () => boolean,
  ): Promise<ExitResult> {
    const { namespace, name } = settings;
    const startDeadline = Date.now() + settings.podWatchTimeoutMs;
    let started = false;
    let seenPod = false;
    let errors = 0;
    let lastError = "";
    let logs: { done: Promise<void>; abort(): void } | null = null;
    const finish = async (result: ExitResult): Promise<ExitResult> => {
      if (logs) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([logs.done, new Promise<void>((r) => (timer = setTimeout(r, OUTPUT_DRAIN_MS)))]);
        clearTimeout(timer);
        logs.abort();
      }
      return result;
    };
    const giveUp = async (reason: string): Promise<ExitResult> => {
      // The Job would otherwise sit in the cluster (or start late, behind the orchestrator's back).
      await this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" }).catch(() => {});
      return finish({ exitCode: null, reason, stopped: stopRequested() });
    };
    for (;;) {
      await sleep(this.pollIntervalMs);
      let pod: V1Pod | undefined;
      try {
        const list = await this.core.listNamespacedPod({ namespace, labelSelector: `job-name=${name}` });
        pod = newest(list.items);
        errors = 0;
      } catch (err) {
        lastError = kubernetesMessage(err);
        if (++errors >= this.maxWatchErrors)
          return finish({
            exitCode: null,
            reason: `lost track of Kubernetes Job ${namespace}/${name}: ${lastError}`,
            stopped: stopRequested(),
          });
        continue;
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
        if (seenPod)
          return finish({ exitCode: null, reason: `pod of Job ${namespace}/${name} disappeared`, stopped: false });
        if (Date.now() > startDeadline)
          return giveUp(
            `no pod was created for Job ${namespace}/${name} within ${settings.podWatchTimeoutMs / 1000} s`,
          );
        continue;
      }
      seenPod = true;
      const ended = podExitResult(pod, false);
      const phase = pod.status?.phase;
      if ((phase === "Running" || ended) && !started) {
        started = true;
        if (settings.streamOutput) logs = this.followLogs(namespace, pod.metadata!.name!, onOutput);
      }
      if (ended) return finish(ended);
      if (!started) {
        const fatal = fatalWaiting(pod);
        if (fatal) return giveUp(`pod ${pod.metadata?.name} could not start: ${fatal}`);
        if (Date.now() > startDeadline)
          return giveUp(
            `pod ${pod.metadata?.name} did not start within ${settings.podWatchTimeoutMs / 1000} s (phase ${phase ?? "unknown"})`,
          );
      }
    }
  }

  private followLogs(
    namespace: string,
    pod: string,
    onOutput: JobSpec["onOutput"],
  ): { done: Promise<void>; abort(): void } {
    const sink = new PassThrough();
    const lines = createInterface({ input: sink, crlfDelay: Infinity });
    lines.on("line", (line) => onOutput(line, "stdout"));
    const done = new Promise<void>((resolve) => lines.once("close", resolve));
    let controller: AbortController | null = null;
    let aborted = false;
    new Log(this.kubeConfig)
      .log(namespace, pod, CONTAINER_NAME, sink, { follow: true })
      .then((c) => {
        controller = c;
        if (aborted) c.abort();
      })
      .catch((err: unknown) => {
        // Logs are a convenience: the run goes on without them.
        onOutput(`flowplane worker: could not follow the logs of pod ${pod}: ${kubernetesMessage(err)}`, "stderr");
        sink.end();
      });
    return {
      done,
      abort() {
        aborted = true;
        controller?.abort();
        sink.end();
      },
    };
  }
}

function loadDefaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
