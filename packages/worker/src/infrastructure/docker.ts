// The `docker` pool: each run is a container on the Docker engine the worker talks to (DOCKER_HOST or
// the local socket).
//
// Tied to its worker like a process run: the worker stays attached to the container's stdin
// (OpenStdin + StdinOnce) and the runner exits when that stdin closes (FLOWPLANE_EXIT_WITH_PARENT),
// so a worker killed with SIGKILL takes its runs down with it and the server crashes and retries
// them. The container is removed by the worker after it has read the exit code and the OOM flag —
// not by the engine's AutoRemove, which would delete the container before inspect could see why it
// died; containers a dead worker left behind are found by label (cleanupOrphans).
//
// A container that never starts ends with the real reason within the start deadline (job variable
// start_timeout_seconds): an image that cannot be pulled is retried a few times with backoff, as the
// kubelet does before ErrImagePull is final, then named with the engine's message; a container the
// runtime cannot start (a command that does not exist) ends with the engine's error; one still not
// running at the deadline is removed and its state given; one that exits before its runner reports
// (a wrong command, a missing module) ends with its exit code and its last output lines.
import { PassThrough, type Duplex } from "node:stream";
import { createInterface } from "node:readline";
import Docker from "dockerode";
import { JobConfiguration, randomSuffix, slug } from "./job-configuration.ts";
import { causeOf, withRetries } from "./retry.ts";
import {
  InfrastructureError,
  JobElsewhereError,
  type ExitResult,
  type FoundJob,
  type Infrastructure,
  type JobSpec,
  type RunningJob,
} from "./types.ts";

export const PULL_POLICIES = ["never", "if-not-present", "always"] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface DockerJobSettings {
  image: string;
  pullPolicy: PullPolicy;
  autoRemove: boolean;
  streamOutput: boolean;
  /** The job's start_timeout_seconds, in ms; null: the pool's default. */
  startTimeoutMs: number | null;
  create: Docker.ContainerCreateOptions;
}

export interface DockerInfrastructureOptions {
  /** The engine client; default: DOCKER_HOST or /var/run/docker.sock. */
  docker?: Docker;
  /**
   * How long pulling the image, creating and starting the container may take when the job sets no
   * start_timeout_seconds (default 240 s, below the server's 300 s claim timeout): a registry that
   * never answers or an engine that hangs ends the run with what it was waiting for, instead of
   * holding it PENDING.
   */
  startTimeoutMs?: number;
  /** How many times a failing pull is tried before it is fatal (default 3). */
  pullAttempts?: number;
  /** First delay between pulls (default 5 s; doubled per attempt, with jitter). */
  pullRetryDelayMs?: number;
  /** The engine's ID (default: what `docker info` says); tests name another engine. */
  engineId?: string;
}

/**
 * A stored id: "<engine ID>/<container id>", or a bare container id as stored before ids named
 * their engine (read as this engine's). Engine IDs may contain ":" (older engines use a key
 * fingerprint), container ids are hex: the last "/" separates them.
 */
function parseContainerId(id: string): { engine: string | null; container: string } {
  const at = id.lastIndexOf("/");
  const container = id.slice(at + 1);
  if (!/^[0-9a-f]{12,64}$/.test(container) || at === 0)
    throw new InfrastructureError(`infrastructure id ${JSON.stringify(id)} is not a container id`);
  return { engine: at < 0 ? null : id.slice(0, at), container };
}

/** How many of a container's last output lines an early exit is reported with, and their length. */
const LAST_LINES = 5;
const LAST_LINE_CHARS = 300;

/** Where a start is: what it is doing, and the container once created. */
interface StartStep {
  now: string;
  container: Docker.Container | null;
}

/** How long output may trail the container's exit before the run is settled without it. */
const OUTPUT_DRAIN_MS = 2_000;

/**
 * The container for a job (pure: no engine calls). Without a `command` the image's own CMD runs, as
 * on ECS and Kubernetes: the flowplane image's is its runner bootstrap, so a deployment moves
 * between pool types unchanged and the worker's own files never need to be in the container.
 */
export function dockerJobSettings(job: JobSpec): DockerJobSettings {
  const config = new JobConfiguration(job.configuration);
  const image = config.string("image");
  const volumes = config.stringList("volumes").map(parseVolume);
  const memory = parseMemory(config.optionalText("mem_limit"));
  const cpus = config.optionalNumber("cpus");
  if (cpus !== null && cpus <= 0)
    throw new InfrastructureError(`job configuration "cpus": expected a number > 0, got ${cpus}`);
  const command = config.command();
  const env = { ...config.stringMap("env"), ...job.env, FLOWPLANE_EXIT_WITH_PARENT: "1" };
  // The deployment's directory (working_dir, filled in by the worker) only means something inside the
  // container when a volume brings it there; otherwise the image's WORKDIR applies.
  const workingDir = config.optionalString("working_dir");
  const visible =
    workingDir !== null &&
    volumes.some(
      (v) => workingDir === v.target || workingDir.startsWith(v.target.endsWith("/") ? v.target : `${v.target}/`),
    );
  return {
    image,
    pullPolicy: config.oneOf("image_pull_policy", PULL_POLICIES, "if-not-present"),
    autoRemove: config.boolean("auto_remove", true),
    streamOutput: config.boolean("stream_output", true),
    startTimeoutMs: config.optionalSecondsAsMs("start_timeout_seconds"),
    create: {
      name: `flowplane-${slug(job.flowRunName, 40) || "run"}-${randomSuffix()}`,
      Image: image,
      ...(command ? { Cmd: command } : {}),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { ...config.stringMap("labels"), ...job.labels },
      ...(visible ? { WorkingDir: workingDir } : {}),
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: true,
      StdinOnce: true,
      Tty: false,
      HostConfig: {
        NetworkMode: config.string("network_mode", "host"),
        Binds: volumes.map((v) => v.spec),
        // No init process: with one (docker-init) a command that cannot be executed would start
        // "successfully" and exit 127, instead of failing start() with the engine's reason. The cost:
        // a PID 1 without a SIGTERM handler ignores SIGTERM, so stop() then takes the grace period.
        Init: false,
        AutoRemove: false,
        ...(memory !== null ? { Memory: memory } : {}),
        ...(cpus !== null ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
      },
    },
  };
}

function parseVolume(spec: string): { spec: string; target: string } {
  const parts = spec.split(":");
  const target = parts[1];
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !target?.startsWith("/")) {
    throw new InfrastructureError(
      `job configuration "volumes": expected "source:/container/path" or "source:/container/path:ro", got ${JSON.stringify(spec)}`,
    );
  }
  return { spec, target };
}

const MEMORY_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "512m", "2g", "1073741824" → bytes, as `docker run --memory` takes them. */
export function parseMemory(text: string | null): number | null {
  if (text === null) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(text.trim());
  const bytes = m ? Math.round(Number(m[1]) * MEMORY_UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isFinite(bytes) || bytes <= 0)
    throw new InfrastructureError(
      `job configuration "mem_limit": expected a size such as "512m" or "2g", got ${JSON.stringify(text)}`,
    );
  return bytes;
}

interface DockerApiError {
  statusCode?: number;
  json?: { message?: string } | null;
  message?: string;
}

/** The engine's own words (`No such image: x`), without docker-modem's "(HTTP code 404) ..." prefix. */
function engineMessage(err: unknown): string {
  const e = err as DockerApiError;
  const fromJson = e?.json?.message;
  if (typeof fromJson === "string" && fromJson.trim()) return fromJson.trim();
  return (e?.message ?? String(err)).replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();
}

function statusOf(err: unknown): number | undefined {
  return (err as DockerApiError)?.statusCode;
}

export class DockerInfrastructure implements Infrastructure {
  readonly type = "docker" as const;
  private readonly docker: Docker;

  private readonly startTimeoutMs: number;
  private readonly pullAttempts: number;
  private readonly pullRetryDelayMs: number;
  private readonly configuredEngineId: string | undefined;
  private engineIdRead: Promise<string> | null = null;

  constructor(options: DockerInfrastructureOptions = {}) {
    this.docker = options.docker ?? new Docker();
    this.startTimeoutMs = options.startTimeoutMs ?? 240_000;
    this.pullAttempts = options.pullAttempts ?? 3;
    this.pullRetryDelayMs = options.pullRetryDelayMs ?? 5_000;
    this.configuredEngineId = options.engineId;
  }

  /**
   * The engine's ID, which it keeps across restarts (/var/lib/docker/engine-id): a container id
   * means something only on its engine, and workers of one pool may talk to different engines.
   * Read once; a failed read is tried again next time.
   */
  private engineId(): Promise<string> {
    if (this.configuredEngineId !== undefined) return Promise.resolve(this.configuredEngineId);
    this.engineIdRead ??= this.docker.info().then(
      (info: { ID?: string }) => {
        if (!info.ID) throw new InfrastructureError("the Docker engine did not say its ID (docker info)");
        return info.ID;
      },
      (err: unknown) => {
        this.engineIdRead = null;
        throw new InfrastructureError(`could not read the Docker engine's ID: ${engineMessage(err)}`);
      },
    );
    return this.engineIdRead;
  }

  async jobIdPrefix(): Promise<string> {
    return `${await this.engineId()}/`;
  }

  async submit(job: JobSpec): Promise<RunningJob> {
    const settings = dockerJobSettings(job);
    const startTimeoutMs = settings.startTimeoutMs ?? this.startTimeoutMs;
    const step: StartStep = { now: `pulling image "${settings.image}"`, container: null };
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const starting = this.start(job, settings, step, () => timedOut);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        void this.stateAtDeadline(step).then((state) =>
          reject(
            new InfrastructureError(
              `the container from image "${settings.image}" did not start within ${startTimeoutMs / 1000} s (still ${step.now}${state})`,
            ),
          ),
        );
      }, startTimeoutMs);
    });
    // A start that completes after the deadline must not run behind the orchestrator's back.
    starting.then((late) => (timedOut ? late.stop(0) : undefined)).catch(() => {});
    try {
      return await Promise.race([starting, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * What a container that has not started by the deadline is doing ("; container 0123456789ab is
   * created"), read within a few seconds; it is then removed, so nothing starts behind the
   * orchestrator's back. "" when no container was created yet.
   */
  private async stateAtDeadline(step: StartStep): Promise<string> {
    const container = step.container;
    if (!container) return "";
    let timer: NodeJS.Timeout | undefined;
    const state = await Promise.race([
      container.inspect().then(
        (info) => `is ${info.State.Status}${info.State.Error ? ` (${info.State.Error})` : ""}`,
        (err: unknown) => `could not be inspected: ${engineMessage(err)}`,
      ),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve("did not answer an inspect"), 3_000))),
    ]);
    clearTimeout(timer);
    void container.remove({ force: true }).catch(() => {});
    return `; container ${container.id.slice(0, 12)} ${state}`;
  }

  /** Pull, create, attach, start; `step` says which is under way, and the container once created. */
  private async start(
    job: JobSpec,
    settings: DockerJobSettings,
    step: StartStep,
    timedOut: () => boolean,
  ): Promise<RunningJob> {
    const prefix = await this.jobIdPrefix();
    await this.ensureImage(settings.image, settings.pullPolicy, job, timedOut);
    step.now = "creating the container";
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(settings.create);
      step.container = container;
    } catch (err) {
      throw new InfrastructureError(
        `could not create a container from image "${settings.image}": ${engineMessage(err)}`,
      );
    }
    // Attached before start, so no early output is lost; the attachment also holds the stdin that
    // ties the run to this worker.
    let attachment: Duplex;
    try {
      attachment = (await container.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as Duplex;
    } catch (err) {
      await container.remove({ force: true }).catch(() => {});
      throw new InfrastructureError(
        `could not attach to the container from image "${settings.image}": ${engineMessage(err)}`,
      );
    }
    // The last lines are kept whether or not they are streamed: an early exit is reported with them.
    const lastLines: string[] = [];
    const output = this.forwardOutput(container, attachment, (line, stream) => {
      lastLines.push(line.length > LAST_LINE_CHARS ? `${line.slice(0, LAST_LINE_CHARS)}…` : line);
      if (lastLines.length > LAST_LINES) lastLines.shift();
      if (settings.streamOutput) job.onOutput(line, stream);
    });
    step.now = "starting the container";
    try {
      await container.start();
    } catch (err) {
      attachment.destroy();
      await container.remove({ force: true }).catch(() => {});
      throw new InfrastructureError(
        `the container from image "${settings.image}" failed to start: ${engineMessage(err)}`,
      );
    }

    let stopRequested = false;
    const exited = this.watch(container, output, attachment, settings.autoRemove, () => stopRequested).then((result) =>
      // Exited by itself with an error: its last words say why (a missing module, a bad
      // command), also when the runner never got to report anything.
      result.exitCode !== null && result.exitCode !== 0 && !result.stopped && result.reason !== "OOMKilled"
        ? {
            ...result,
            reason: `${result.reason}${lastLines.length ? ` (last output: ${lastLines.map((l) => JSON.stringify(l)).join(" | ")})` : " (no output)"}`,
          }
        : result,
    );
    return {
      id: `${prefix}${container.id}`,
      exited,
      async stop(graceMs: number) {
        stopRequested = true;
        try {
          // The engine sends SIGTERM, waits `t` seconds, then SIGKILL.
          await container.stop({ t: Math.max(0, Math.ceil(graceMs / 1000)) });
        } catch (err) {
          // 304: already stopped; 404: already gone. Anything else: make sure it dies.
          const status = statusOf(err);
          if (status !== 304 && status !== 404) await container.kill().catch(() => {});
        }
        await exited;
      },
    };
  }

  /** The containers (running or not) carrying every one of `labels`. */
  async findJobs(labels: Record<string, string>): Promise<FoundJob[]> {
    const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
    if (filters.label.length === 0)
      throw new InfrastructureError("findJobs: refusing to list containers without a label filter");
    const prefix = await this.jobIdPrefix();
    const found = await this.docker.listContainers({ all: true, filters });
    return found.map((info) => ({
      id: `${prefix}${info.Id}`,
      flowRunId: info.Labels?.["flowplane.run-id"] ?? null,
      finished: info.State !== "running" && info.State !== "created" && info.State !== "restarting",
    }));
  }

  /**
   * Stops the container (SIGTERM, SIGKILL after the grace) and removes it; one already gone is fine.
   * A container of another engine is refused (JobElsewhereError): this engine's 404 for it would
   * read as "already gone" while it runs there.
   */
  async stop(id: string, graceMs: number): Promise<void> {
    const { engine, container: containerId } = parseContainerId(id);
    const here = await this.engineId();
    if (engine !== null && engine !== here)
      throw new JobElsewhereError(
        `container ${containerId.slice(0, 12)} is on Docker engine ${engine}, not on this worker's engine ${here}`,
      );
    const container = this.docker.getContainer(containerId);
    try {
      await container.stop({ t: Math.max(0, Math.ceil(graceMs / 1000)) });
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return;
      if (status !== 304)
        throw new InfrastructureError(`could not stop container ${containerId.slice(0, 12)}: ${engineMessage(err)}`);
    }
    try {
      await container.remove({ force: true });
    } catch (err) {
      // Removed meanwhile (its own worker finished it, or a removal was in progress).
      if (statusOf(err) !== 404 && statusOf(err) !== 409)
        throw new InfrastructureError(`could not remove container ${containerId.slice(0, 12)}: ${engineMessage(err)}`);
    }
  }

  /** Removes the containers (running or not) carrying every one of `labels`; returns how many. */
  async cleanupOrphans(labels: Record<string, string>): Promise<number> {
    const found = await this.findJobs(labels);
    for (const job of found) await this.stop(job.id, 0);
    return found.length;
  }

  private async ensureImage(image: string, policy: PullPolicy, job: JobSpec, timedOut: () => boolean): Promise<void> {
    if (policy !== "always") {
      const present = await this.docker
        .getImage(image)
        .inspect()
        .then(() => true)
        .catch((err: unknown) => {
          if (statusOf(err) === 404) return false;
          throw new InfrastructureError(`could not inspect image "${image}": ${engineMessage(err)}`);
        });
      if (present) return;
      if (policy === "never") {
        throw new InfrastructureError(
          `image "${image}" is not present on the Docker engine and image_pull_policy is "never"; build or load it there first`,
        );
      }
    }
    await this.pull(image, job, timedOut);
  }

  /**
   * Pulls the image, tried pullAttempts times with backoff (a registry restarting, a tag being
   * pushed, a network blip pass; the kubelet retries ErrImagePull the same way), then fatal with
   * the engine's message.
   */
  private async pull(image: string, job: JobSpec, timedOut: () => boolean): Promise<void> {
    let attempts = 0;
    try {
      await withRetries(
        () => {
          attempts++;
          return this.pullOnce(image);
        },
        {
          transient: () => true,
          forMs: Number.POSITIVE_INFINITY,
          initialDelayMs: this.pullRetryDelayMs,
          maxDelayMs: 60_000,
          abandoned: () => attempts >= this.pullAttempts || timedOut(),
          onRetry: (err, attempt, delay) =>
            job.onEvent?.(
              `pulling image "${image}" failed: ${engineMessage(err)}; retry ${attempt} in ${(delay / 1000).toFixed(1)} s`,
            ),
        },
      );
    } catch (err) {
      throw new InfrastructureError(
        `could not pull image "${image}": ${engineMessage(causeOf(err).cause)}${attempts > 1 ? ` (tried ${attempts} times)` : ""}`,
      );
    }
  }

  private async pullOnce(image: string): Promise<void> {
    const stream = await this.docker.pull(image);
    const events = await new Promise<{ error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null, output: { error?: string }[]) =>
        err ? reject(err) : resolve(output),
      );
    });
    // A pull that fails half way answers 200 and reports the error in the progress stream.
    const failed = events.find((e) => e.error || e.errorDetail);
    if (failed) throw new Error(failed.errorDetail?.message ?? failed.error);
  }

  /** Demultiplexes the attached stdout/stderr into lines; resolves when both have ended. */
  private forwardOutput(container: Docker.Container, attachment: Duplex, onOutput: JobSpec["onOutput"]): Promise<void> {
    const streams = { stdout: new PassThrough(), stderr: new PassThrough() };
    container.modem.demuxStream(attachment, streams.stdout, streams.stderr);
    const ended = (["stdout", "stderr"] as const).map((name) => {
      const lines = createInterface({ input: streams[name], crlfDelay: Infinity });
      lines.on("line", (line) => onOutput(line, name));
      return new Promise<void>((resolve) => lines.once("close", resolve));
    });
    const endBoth = () => {
      streams.stdout.end();
      streams.stderr.end();
    };
    attachment.once("end", endBoth);
    attachment.once("close", endBoth);
    attachment.once("error", endBoth);
    return Promise.all(ended).then(() => {});
  }

  private async watch(
    container: Docker.Container,
    output: Promise<void>,
    attachment: Duplex,
    autoRemove: boolean,
    stopRequested: () => boolean,
  ): Promise<ExitResult> {
    let result: ExitResult;
    try {
      const waited = (await container.wait()) as { StatusCode?: number };
      const state = (await container.inspect()).State;
      const exitCode = state.ExitCode ?? waited.StatusCode ?? null;
      result = {
        exitCode,
        reason: state.OOMKilled ? "OOMKilled" : `exited with code ${exitCode}`,
        stopped: stopRequested(),
      };
    } catch (err) {
      // The engine went away or someone removed the container: the run's fate is unknown.
      result = {
        exitCode: null,
        reason: `lost track of container ${container.id.slice(0, 12)}: ${engineMessage(err)}`,
        stopped: stopRequested(),
      };
    }
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([output, new Promise<void>((r) => (drainTimer = setTimeout(r, OUTPUT_DRAIN_MS)))]);
    clearTimeout(drainTimer);
    attachment.destroy();
    if (autoRemove) {
      // A container that cannot be removed now (engine busy, already removed) is left to cleanupOrphans.
      await container.remove({ force: true }).catch(() => {});
    }
    return result;
  }
}
