// What the AWS fakes share: the AWS JSON 1.1 protocol the real SDK clients speak (POST /, an
// X-Amz-Target of `<prefix>.<Action>`, application/x-amz-json-1.1, a SigV4 signature whose
// credential scope names the region and the service), errors as `{"__type", "message"}`, the
// requests as sent, and faults a test schedules (throttling, 5xx) answered before any handling.
import { randomBytes } from "node:crypto";
import type http from "node:http";
import { LoopbackFake, readBody } from "./loopback-server.ts";

export interface AwsRequest {
  action: string;
  body: Record<string, unknown>;
  /** Region of the SigV4 credential scope the client signed with. */
  region: string | null;
  /** What the fake answered: "OK", an error type, or "reset" (the connection was dropped). */
  answer?: string;
}

/** An error the fake answers instead of handling a request, `times` times (the AWS error shapes). */
export interface AwsFault {
  action: string;
  status: number;
  type: string;
  message: string;
  times: number;
}

/** A client error of the service (HTTP 400), as its API reference names it. */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export abstract class AwsJsonFake extends LoopbackFake {
  readonly requests: AwsRequest[] = [];
  /** Errors answered before any handling, consumed in order per action. */
  faults: AwsFault[] = [];
  /** The X-Amz-Target prefix ("Logs_20140328."), the SigV4 signing name ("logs"), and a name for messages. */
  protected abstract readonly service: { targetPrefix: string; signingName: string; name: string };

  /** Answers `fault` to the next `times` requests of `action`. */
  fail(action: string, fault: { status: number; type: string; message: string }, times = 1): void {
    this.faults.push({ action, ...fault, times });
  }

  /** The bodies of the requests for one action, in order. */
  bodiesOf(action: string): Record<string, unknown>[] {
    return this.requests.filter((r) => r.action === action).map((r) => r.body);
  }

  /** The answer to one request; throws AwsError for what the service refuses. */
  protected abstract dispatch(action: string, body: Record<string, unknown>, region: string): unknown;

  /** Whether the fake dealt with the request before any answer (e.g. dropped its connection). */
  protected intercept(_request: AwsRequest, _req: http.IncomingMessage): boolean {
    return false;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const text = await readBody(req);
    const target = String(req.headers["x-amz-target"] ?? "");
    const { targetPrefix, signingName, name } = this.service;
    const request: AwsRequest = { action: "", body: {}, region: null };
    const send = (status: number, payload: unknown) => {
      request.answer = (payload as { __type?: string }).__type ?? "OK";
      res.writeHead(status, {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-requestid": randomBytes(16).toString("hex"),
      });
      res.end(JSON.stringify(payload));
    };
    if (
      req.method !== "POST" ||
      req.url !== "/" ||
      !target.startsWith(targetPrefix) ||
      req.headers["content-type"] !== "application/x-amz-json-1.1"
    ) {
      send(400, {
        __type: "UnknownOperationException",
        message: `not ${name} JSON 1.1 request: ${req.method} ${req.url} ${target}`,
      });
      return;
    }
    const scope = new RegExp(`Credential=[^/]+/\\d{8}/([^/]+)/${signingName}/aws4_request`).exec(
      String(req.headers.authorization ?? ""),
    );
    Object.assign(request, {
      action: target.slice(targetPrefix.length),
      body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
      region: scope?.[1] ?? null,
    });
    this.requests.push(request);
    if (!scope) {
      send(403, { __type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" });
      return;
    }
    if (this.intercept(request, req)) return;
    const fault = this.faults.find((f) => f.action === request.action && f.times > 0);
    if (fault) {
      fault.times--;
      send(fault.status, { __type: fault.type, message: fault.message });
      return;
    }
    try {
      send(200, this.dispatch(request.action, request.body, scope[1]!));
    } catch (err) {
      if (err instanceof AwsError) send(400, { __type: err.type, message: err.message });
      else send(500, { __type: "ServiceUnavailableException", message: (err as Error).message });
    }
  }
}
