// Time ranges of the runs page. Windows are aligned to the chart's bucket size, so the query key
// (and so the request) only changes when a new bucket begins, not on every render.

export type RangeKey = "any" | "1h" | "24h" | "7d" | "30d" | "custom";

export const RANGES: { key: RangeKey; label: string }[] = [
  { key: "any", label: "Any time" },
  { key: "1h", label: "Last hour" },
  { key: "24h", label: "Last 24 hours" },
  { key: "7d", label: "Last 7 days" },
  { key: "30d", label: "Last 30 days" },
  { key: "custom", label: "Custom range" },
];

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const PRESETS: Record<Exclude<RangeKey, "any" | "custom">, { span: number; bucketMs: number }> = {
  "1h": { span: HOUR, bucketMs: MIN },
  "24h": { span: DAY, bucketMs: 30 * MIN },
  "7d": { span: 7 * DAY, bucketMs: 3 * HOUR },
  "30d": { span: 30 * DAY, bucketMs: 12 * HOUR },
};

export interface ResolvedRange {
  /** Filter for the list: runs expected to start in [from, to). `to` is open for presets. */
  listFrom: string | undefined;
  listTo: string | undefined;
  /** Window of the chart. */
  chartFrom: string;
  chartTo: string;
  buckets: number;
  caption: string;
}

export function resolveRange(
  key: RangeKey,
  custom: { from?: string | null; to?: string | null },
  now: number,
): ResolvedRange {
  if (key === "custom") {
    const from = custom.from ? Date.parse(custom.from) : NaN;
    const to = custom.to ? Date.parse(custom.to) : NaN;
    const f = Number.isNaN(from) ? now - DAY : from;
    const t = Number.isNaN(to) ? now : to;
    const [lo, hi] = f <= t ? [f, t] : [t, f];
    const end = hi === lo ? lo + MIN : hi;
    return {
      listFrom: Number.isNaN(from) ? undefined : new Date(lo).toISOString(),
      listTo: Number.isNaN(to) ? undefined : new Date(end).toISOString(),
      chartFrom: new Date(lo).toISOString(),
      chartTo: new Date(end).toISOString(),
      buckets: 50,
      caption: "Selected range",
    };
  }
  // "Any time" leaves the list unfiltered; its chart shows the last day, the view people watch and
  // the one that stays cheap with a million runs (see e2e/bench/dashboard-scale.ts).
  const preset = PRESETS[key === "any" ? "24h" : key];
  const to = Math.ceil((now + 1) / preset.bucketMs) * preset.bucketMs;
  const buckets = Math.round(preset.span / preset.bucketMs);
  const from = to - buckets * preset.bucketMs;
  return {
    // The list uses the chart's window, so the bars and the rows always agree.
    listFrom: key === "any" ? undefined : new Date(from).toISOString(),
    listTo: undefined,
    chartFrom: new Date(from).toISOString(),
    chartTo: new Date(to).toISOString(),
    buckets,
    caption: key === "any" ? "Last 24 hours" : (RANGES.find((r) => r.key === key)?.label ?? ""),
  };
}

export function isRangeKey(value: string | null): value is RangeKey {
  return RANGES.some((r) => r.key === value);
}
