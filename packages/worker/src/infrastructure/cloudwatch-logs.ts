// Following an ECS task's CloudWatch Logs stream (what the awslogs driver writes from its container)
// into the run's logs, with GetLogEvents and its forward token.
//
// CloudWatch Logs has no push: the follower reads from the head of the stream, then asks again with
// the nextForwardToken of the last answer, which comes back unchanged once the stream has nothing
// newer (a page may be partly full or even empty while more follows, so only an unchanged token
// means "caught up"). The token is the follower's whole position and moves only after a page's
// lines were delivered: a read that fails (a reset connection, throttling, a 5xx) is retried with
// the same token, so no line is lost or repeated. The awslogs driver creates the stream when the
// container starts, and the first lines may land after the task is already RUNNING: until the stream
// exists (ResourceNotFoundException) the follower waits. After the task has stopped it keeps reading
// for `drainMs`, the time awslogs may still take to deliver the container's last lines.
//
// This module loads @aws-sdk/client-cloudwatch-logs; the ecs pool imports it only for jobs that
// stream their output.
import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
} from "@aws-sdk/client-cloudwatch-logs";
import { awsMessage, isAwsServiceError, transientAwsError } from "./aws.ts";
import { abortableSleep, causeOf, withRetries } from "./retry.ts";

/** Where awslogs writes a container's output: `prefix/container-name/task-id` in `group`. */
export interface LogStreamLocation {
  /** The awslogs-region, or null for the client's (the task's) region. */
  region: string | null;
  group: string;
  stream: string;
}

export interface LogFollowerOptions {
  /** CloudWatch Logs endpoint URL (a VPC endpoint, or a test's fake); default: the SDK's resolution. */
  endpoint?: string;
  /** Pause between reads once the follower has caught up. */
  pollIntervalMs: number;
  /** How long a failing read is retried (throttling, 5xx, the network) before copying stops. */
  retryForMs: number;
  /** First retry delay (doubled per attempt, with jitter). */
  retryDelayMs: number;
  /** How long after the task stopped its last lines may still arrive. */
  drainMs: number;
}

export interface LogStreamFollower {
  /** Resolves once the follower has stopped (drained after ended(), or aborted). */
  done: Promise<void>;
  /** The task has stopped: read what is left for `drainMs`, then stop. */
  ended(): void;
  /** Stop now, mid-read or mid-pause. */
  abort(): void;
}

const clients = new Map<string, CloudWatchLogsClient>();

function clientFor(region: string | null, endpoint: string | undefined): CloudWatchLogsClient {
  const key = `${region ?? ""} ${endpoint ?? ""}`;
  let client = clients.get(key);
  if (!client) {
    client = new CloudWatchLogsClient({
      ...(region ? { region } : {}),
      ...(endpoint ? { endpoint } : {}),
      // Retried by withRetries, bounded and told to the run, not by the SDK's own attempts under it.
      maxAttempts: 1,
    });
    clients.set(key, client);
  }
  return client;
}

/**
 * Follows `location` from its head, handing each line to `onLine` in order, until ended() (plus
 * the drain) or abort(). `onEvent` is told about retries, and why copying stopped early.
 */
export function followLogStream(
  location: LogStreamLocation,
  onLine: (line: string) => void,
  onEvent: (message: string) => void,
  options: LogFollowerOptions,
): LogStreamFollower {
  const client = clientFor(location.region, options.endpoint);
  const where = `CloudWatch Logs stream ${location.group}/${location.stream}`;
  const controller = new AbortController();
  let endedAt: number | null = null;
  const pause = (ms: number) => abortableSleep(ms, controller.signal);
  /** Whether a read started at `at` is the last one (the task stopped `drainMs` before it). */
  const drained = (at: number) => endedAt !== null && at - endedAt >= options.drainMs;

  const read = (token: string | undefined): Promise<GetLogEventsCommandOutput> =>
    withRetries(
      () =>
        client.send(
          new GetLogEventsCommand({
            logGroupName: location.group,
            logStreamName: location.stream,
            // From the task's first line; with a token, the token's own direction applies.
            startFromHead: true,
            ...(token ? { nextToken: token } : {}),
          }),
          { abortSignal: controller.signal },
        ),
      {
        transient: transientAwsError,
        forMs: options.retryForMs,
        initialDelayMs: options.retryDelayMs,
        signal: controller.signal,
        // After the task stopped, a failing read is retried only within the drain.
        abandoned: () => drained(Date.now()),
        onRetry: (err, attempt, delay) =>
          onEvent(`reading ${where}: ${awsMessage(err)}; retry ${attempt} in ${(delay / 1000).toFixed(1)} s`),
      },
    );

  const done = (async () => {
    let token: string | undefined;
    while (!controller.signal.aborted) {
      const startedAt = Date.now();
      let page: GetLogEventsCommandOutput;
      try {
        page = await read(token);
      } catch (err) {
        if (controller.signal.aborted) return;
        const { cause, retried } = causeOf(err);
        if (isAwsServiceError(cause) && cause.name === "ResourceNotFoundException") {
          // Not written yet: awslogs creates the stream when the container starts.
          if (drained(startedAt)) {
            onEvent(`${where} does not exist: the task wrote no output there`);
            return;
          }
          await pause(options.pollIntervalMs);
          continue;
        }
        onEvent(`stopped copying the task's output from ${where}: ${awsMessage(cause)}${retried}`);
        return;
      }
      for (const event of page.events ?? [])
        for (const line of (event.message ?? "").replace(/\r?\n$/, "").split(/\r?\n/)) onLine(line);
      const caughtUp = !page.nextForwardToken || page.nextForwardToken === token;
      token = page.nextForwardToken ?? token;
      if (caughtUp) {
        if (drained(startedAt)) return;
        await pause(options.pollIntervalMs);
      }
    }
  })();

  return {
    done,
    ended() {
      endedAt ??= Date.now();
    },
    abort() {
      controller.abort();
    },
  };
}
