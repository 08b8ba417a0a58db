// What the AWS pools share about AWS SDK v3 errors: every service's exception (ECSServiceException,
// CloudWatchLogsServiceException, ...) carries the error code as `name` and the HTTP answer in
// `$metadata`, so one test serves every client without loading any of them.
import { RetriesExhausted } from "./retry.ts";
import { InfrastructureError } from "./types.ts";

interface AwsServiceError {
  name: string;
  message: string;
  $fault: "client" | "server";
  $metadata: { httpStatusCode?: number };
}

/**
 * An error the AWS service answered, as opposed to the network or the SDK itself (the SDK adds
 * `$metadata` to those too, but only a service's answer has a `$fault`).
 */
export function isAwsServiceError(err: unknown): err is AwsServiceError {
  const e = err as Partial<AwsServiceError>;
  return err instanceof Error && (e.$fault === "client" || e.$fault === "server") && typeof e.$metadata === "object";
}

/** The service's words for an error: "ThrottlingException: Rate exceeded". */
export function awsMessage(err: unknown): string {
  if (isAwsServiceError(err)) return `${err.name}: ${err.message}`;
  if (err instanceof RetriesExhausted) return awsMessage(err.last);
  return err instanceof Error ? err.message : String(err);
}

/**
 * Errors that pass by themselves: throttling, a 5xx, credentials being rotated, the network (a
 * reset or refused connection). Everything else (a missing cluster, a bad parameter, access
 * denied) is the job's or the account's to fix and is reported at once.
 */
export function transientAwsError(err: unknown): boolean {
  if (err instanceof InfrastructureError) return err.transient;
  if (isAwsServiceError(err)) {
    if (
      /^(ThrottlingException|Throttling|TooManyRequestsException|RequestLimitExceeded|ServerException|ServiceUnavailable(Exception)?|InternalFailure|ExpiredToken(Exception)?|RequestExpired)$/.test(
        err.name,
      )
    )
      return true;
    const status = err.$metadata.httpStatusCode ?? 0;
    return status === 429 || status >= 500;
  }
  const code = (err as { code?: string; name?: string })?.code ?? (err as { name?: string })?.name ?? "";
  return /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|TimeoutError|NetworkingError)$/.test(code);
}
