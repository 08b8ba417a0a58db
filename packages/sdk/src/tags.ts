// withTags(): every flow run and task run started inside the scope carries the extra tags, like
// Prefect's `with tags(...)`. The scope rides on AsyncLocalStorage, so it follows the async calls
// made inside it and never leaks into concurrent work started elsewhere.
import { AsyncLocalStorage } from "node:async_hooks";
import { InvalidArgumentError } from "./errors.ts";

const tagStorage = new AsyncLocalStorage<readonly string[]>();

/** Runs `fn` with `tags` added to every run it starts (nested scopes add up). Returns fn's value. */
export function withTags<R>(tags: readonly string[], fn: () => R): R {
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string" || t === "")) {
    throw new InvalidArgumentError("withTags: tags must be a list of non-empty strings");
  }
  const outer = tagStorage.getStore() ?? [];
  return tagStorage.run([...new Set([...outer, ...tags])], fn);
}

/** The run's own tags plus those of the enclosing withTags() scopes, without duplicates. */
export function tagsInScope(own: readonly string[]): string[] {
  const scoped = tagStorage.getStore();
  return scoped === undefined || scoped.length === 0 ? [...own] : [...new Set([...own, ...scoped])];
}
