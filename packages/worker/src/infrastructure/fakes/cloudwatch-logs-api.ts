// An in-process stand-in for Amazon CloudWatch Logs, for tests: a node:http server speaking the AWS
// JSON 1.1 protocol the real @aws-sdk/client-cloudwatch-logs uses (POST /, X-Amz-Target:
// Logs_20140328.<Action>, application/x-amz-json-1.1), with GetLogEvents' request checks, answers
// and error shapes from the CloudWatch Logs API reference:
// - a log group or stream that does not exist is ResourceNotFoundException;
// - logGroupName and logGroupIdentifier are exclusive, logStreamName is required, limit is 1 to
//   10,000, and a nextToken the service did not hand out for that stream is InvalidParameterException;
// - tokens are "f/…" and "b/…" with 56 digits; at the end of the stream the answer's
//   nextForwardToken is the token that was sent.
// Events are what the fake ECS task "writes" (`write`, as the awslogs driver would: one event per
// line, the stream created by the first one). Tests can make it throttle or answer 5xx (`fail`),
// and reset the connection of the next reads (`dropConnections`), as a dropped stream does.
import type http from "node:http";
import { AwsError, AwsJsonFake, type AwsRequest } from "./aws-json.ts";

/** The errors CloudWatch Logs answers under load, as the SDK receives them. */
export const LOGS_FAULTS = {
  throttling: { status: 400, type: "ThrottlingException", message: "Rate exceeded" },
  unavailable: {
    status: 500,
    type: "ServiceUnavailableException",
    message: "The service cannot complete the request.",
  },
} as const;

interface Stream {
  events: { timestamp: number; message: string; ingestionTime: number }[];
  /** Every forward token handed out for this stream, to its position. */
  tokens: Map<string, number>;
}

export class FakeCloudWatchLogs extends AwsJsonFake {
  protected readonly service = { targetPrefix: "Logs_20140328.", signingName: "logs", name: "a CloudWatch Logs" };
  /** Log groups by name, each with its streams by name. */
  readonly groups = new Map<string, Map<string, Stream>>();
  /** Most events one GetLogEvents answer carries (the service's own limit is 10,000 or 1 MB). */
  pageSize = 10_000;
  private drops = 0;

  /** Forgets the requests and the faults and drops not yet used. */
  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
    this.drops = 0;
    this.pageSize = 10_000;
  }

  /** Resets the connection of the next `times` GetLogEvents requests without answering. */
  dropConnections(times: number): void {
    this.drops += times;
  }

  /** Creates a log group (as `aws logs create-log-group` or awslogs-create-group would). */
  createGroup(group: string): void {
    if (!this.groups.has(group)) this.groups.set(group, new Map());
  }

  /** Appends `lines` to `group`/`stream`, creating both, one event per line. */
  write(group: string, stream: string, lines: string[]): void {
    let streams = this.groups.get(group);
    if (!streams) this.groups.set(group, (streams = new Map()));
    let s = streams.get(stream);
    if (!s) streams.set(stream, (s = { events: [], tokens: new Map() }));
    for (const message of lines) s.events.push({ timestamp: Date.now(), message, ingestionTime: Date.now() });
  }

  /** The messages of a stream, in order ([] when it does not exist). */
  messages(group: string, stream: string): string[] {
    return (
      this.groups
        .get(group)
        ?.get(stream)
        ?.events.map((e) => e.message) ?? []
    );
  }

  protected override intercept(request: AwsRequest, req: http.IncomingMessage): boolean {
    if (request.action !== "GetLogEvents" || this.drops === 0) return false;
    this.drops--;
    request.answer = "reset";
    req.socket.destroy();
    return true;
  }

  protected dispatch(action: string, body: Record<string, unknown>): unknown {
    if (action !== "GetLogEvents")
      throw new AwsError(
        "InvalidAction",
        `The action ${action} is not valid for this web service (fake CloudWatch Logs implements GetLogEvents).`,
      );
    return this.getLogEvents(body);
  }

  private getLogEvents(body: Record<string, unknown>): unknown {
    const groupName = body["logGroupName"];
    const identifier = body["logGroupIdentifier"];
    if (groupName !== undefined && identifier !== undefined)
      throw new AwsError(
        "InvalidParameterException",
        "LogGroup name and LogGroup identifier are mutually exclusive parameters.",
      );
    const streamName = body["logStreamName"];
    if (typeof streamName !== "string" || streamName.length < 1 || streamName.length > 512)
      throw new AwsError(
        "InvalidParameterException",
        "1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null",
      );
    const limit = body["limit"];
    if (limit !== undefined && (typeof limit !== "number" || limit < 1 || limit > 10_000))
      throw new AwsError(
        "InvalidParameterException",
        `1 validation error detected: Value '${String(limit)}' at 'limit' failed to satisfy constraint: Member must have value ${Number(limit) < 1 ? "greater than or equal to 1" : "less than or equal to 10000"}`,
      );
    const group = String(groupName ?? identifier ?? "").replace(/^arn:aws:logs:[^:]+:\d+:log-group:/, "");
    const streams = this.groups.get(group);
    if (!streams) throw new AwsError("ResourceNotFoundException", "The specified log group does not exist.");
    const stream = streams.get(streamName);
    if (!stream) throw new AwsError("ResourceNotFoundException", "The specified log stream does not exist.");
    const token = body["nextToken"];
    let from: number;
    if (token === undefined) {
      // Without a token: the newest page unless startFromHead.
      from = body["startFromHead"] === true ? 0 : Math.max(0, stream.events.length - (Number(limit) || this.pageSize));
    } else {
      const position = typeof token === "string" ? stream.tokens.get(token) : undefined;
      if (position === undefined)
        throw new AwsError("InvalidParameterException", "The specified nextToken is invalid.");
      from = position;
    }
    const size = Math.min(this.pageSize, typeof limit === "number" ? limit : 10_000);
    const events = stream.events.slice(from, from + size);
    const next = from + events.length;
    const forward = typeof token === "string" && next === from ? token : this.tokenFor(stream, next, "f");
    return { events, nextForwardToken: forward, nextBackwardToken: this.tokenFor(stream, from, "b") };
  }

  /** A token for `position` in `stream`: "f/" or "b/" and 56 digits, as the service writes them. */
  private tokenFor(stream: Stream, position: number, direction: "f" | "b"): string {
    const token = `${direction}/${String(position).padStart(20, "0")}${String(Math.floor(Math.random() * 1e18)).padStart(18, "0")}${String(Math.floor(Math.random() * 1e18)).padStart(18, "0")}`;
    if (direction === "f") stream.tokens.set(token, position);
    return token;
  }
}
