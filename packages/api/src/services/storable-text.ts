// Text a client reports (log lines, state messages, artifact data) as PostgreSQL can store it.
// PostgreSQL text cannot hold NUL, and jsonb refuses NUL and unpaired UTF-16 surrogates (escaped
// "\ud800" in JSON): one such character used to fail the whole ingest transaction. They become
// U+FFFD, the Unicode replacement character, so the record is kept and the damage stays visible.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function storableText(text: string): string {
  return text.replace(UNSTORABLE, "\uFFFD");
}

/** JSON with every string (keys included) made storable. */
export function storableJson(value: unknown): unknown {
  if (typeof value === "string") return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), storableJson(v)]));
  return value;
}

/**
 * At most `maxChars` characters of `text`, then a marker saying how many were cut; cut where it
 * would split a surrogate pair, one character earlier.
 */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let end = maxChars;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… [truncated ${text.length - end} characters]`;
}
