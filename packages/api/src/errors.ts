// One error type for the API layer, a closed set of codes, and one table mapping them to tRPC
// codes. Services throw ApiError; the tRPC error formatter exposes `code`, `path` and `retryAfterMs`.
import { TRPCError } from "@trpc/server";

export type ApiErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "INVALID_INPUT"
  | "CONFLICT"
  | "RATE_LIMITED"
  | "PRECONDITION_FAILED"
  /** A write for a claimed run from someone who does not hold its current claim (fence.ts). */
  | "CLAIM_SUPERSEDED";

type TrpcCode = TRPCError["code"];

export function trpcCodeFor(code: ApiErrorCode): TrpcCode {
  switch (code) {
    case "UNAUTHENTICATED":
      return "UNAUTHORIZED";
    case "FORBIDDEN":
      return "FORBIDDEN";
    case "NOT_FOUND":
      return "NOT_FOUND";
    case "INVALID_INPUT":
      return "BAD_REQUEST";
    case "CONFLICT":
    case "CLAIM_SUPERSEDED":
      return "CONFLICT";
    case "RATE_LIMITED":
      return "TOO_MANY_REQUESTS";
    case "PRECONDITION_FAILED":
      return "PRECONDITION_FAILED";
    default: {
      const unreachable: never = code;
      return unreachable;
    }
  }
}

export class ApiError extends TRPCError {
  readonly apiCode: ApiErrorCode;
  /** Dotted path of the offending input field, when one is to blame. */
  readonly path: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ApiErrorCode, message: string, extra: { path?: string; retryAfterMs?: number } = {}) {
    super({ code: trpcCodeFor(code), message });
    this.apiCode = code;
    this.path = extra.path;
    this.retryAfterMs = extra.retryAfterMs;
  }
}

export const notFound = (what: string, id?: string) =>
  new ApiError("NOT_FOUND", id ? `${what} ${id} not found` : `${what} not found`);
export const invalid = (path: string, message: string) =>
  new ApiError("INVALID_INPUT", `${path}: ${message}`, { path });
