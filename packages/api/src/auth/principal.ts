// Small answers about a principal that several routers need.
import { ApiError } from "../errors.ts";
import type { Actor, Principal } from "./authenticator.ts";

/** Keys a caller creates belong to them: a person's keys to the person, a service account's to it. */
export function keyOwner(actor: Actor): { userId: string } | { serviceAccountId: string } {
  return actor.type === "user" ? { userId: actor.id } : { serviceAccountId: actor.id };
}

/** The API key behind a call, for what must be bound to a key (workers); a person's sign-in has none. */
export function requireApiKey(principal: Principal, what: string): string {
  if (principal.apiKeyId === null)
    throw new ApiError("FORBIDDEN", `${what} needs an API key (a worker or service account key), not a sign-in`);
  return principal.apiKeyId;
}
