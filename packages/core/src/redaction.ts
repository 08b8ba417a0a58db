// Replaces secret values with `***` in text a run writes. Used by the SDK (logs, prints, states,
// artifacts, errors) and by the worker (the run's captured stdout/stderr).

export const REDACTED = "***";

/** Lines of a multi-line secret shorter than this are not redacted on their own (`}` would hit everything). */
const MIN_FRAGMENT_LENGTH = 8;

export class Redactor {
  private readonly patterns = new Set<string>();
  private sorted: string[] = [];

  /**
   * Redacts `value` from now on: the value itself, its base64 forms, its JSON-escaped form, and each
   * line of a multi-line value (output is captured and logged line by line, so a PEM key or a
   * service-account file arrives in pieces).
   */
  add(value: string): void {
    if (value === "") return;
    const forms = [
      value,
      Buffer.from(value).toString("base64"),
      Buffer.from(value).toString("base64url"),
      JSON.stringify(value).slice(1, -1),
    ];
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= MIN_FRAGMENT_LENGTH) forms.push(line);
    let changed = false;
    for (const form of forms)
      if (form && !this.patterns.has(form)) {
        this.patterns.add(form);
        changed = true;
      }
    // Longest first, so a value containing another is replaced whole.
    if (changed) this.sorted = [...this.patterns].sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.sorted.length === 0;
  }

  text(text: string): string {
    if (this.sorted.length === 0) return text;
    let out = text;
    for (const pattern of this.sorted) if (out.includes(pattern)) out = out.split(pattern).join(REDACTED);
    return out;
  }

  /** Every string inside `value` (object keys too) redacted; other values kept. */
  deep<T>(value: T): T {
    if (this.sorted.length === 0) return value;
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === "string") return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v));
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.text(k), this.walk(v)]));
    return value;
  }
}
