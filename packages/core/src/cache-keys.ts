// The one rule for how long a task run's cache key may be. A key only identifies a stored result, so
// a longer one is replaced by its SHA-256 instead of being refused: refusing it would refuse the
// finished state it travels with. The SDK bounds keys before it sends them; the server bounds what
// reaches it anyway. The hash function is passed in so this module stays free of Node built-ins
// (the dashboard imports core in the browser).

/** Longest cache key stored as written. */
export const MAX_CACHE_KEY_LENGTH = 1000;

/** `key` as stored: itself when short enough, else `sha256:<hex of key>`. */
export function boundedCacheKey(key: string, sha256Hex: (text: string) => string): string {
  return key.length <= MAX_CACHE_KEY_LENGTH ? key : `sha256:${sha256Hex(key)}`;
}
