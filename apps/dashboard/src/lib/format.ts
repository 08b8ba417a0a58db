// Times and durations as people read them. Absolute times use the viewer's locale and zone.

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const total = Math.round(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  return `${m}m ${String(sec).padStart(2, "0")}s`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const shortDateTime = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const fullDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" });

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "—" : dateTime.format(d);
}

/** Without seconds, for axes. */
export function formatShortTime(ms: number): string {
  return shortDateTime.format(new Date(ms));
}

export function formatFullTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : fullDateTime.format(d);
}

/** "3 s ago", "in 5 min", "2 h ago". */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return "—";
  const diff = t - now;
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 1500) return "just now";
  if (abs < 60_000) text = `${Math.round(abs / 1000)} s`;
  else if (abs < 3_600_000) text = `${Math.round(abs / 60_000)} min`;
  else if (abs < 86_400_000) text = `${Math.round(abs / 3_600_000)} h`;
  else text = `${Math.round(abs / 86_400_000)} d`;
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

/** Duration of a run, counting a still-running one up to `now`. */
export function runDurationMs(
  run: { startTime: string | null; endTime: string | null },
  now = Date.now(),
): number | null {
  if (!run.startTime) return null;
  const start = new Date(run.startTime).getTime();
  const end = run.endTime ? new Date(run.endTime).getTime() : now;
  return end - start;
}

export function shortId(id: string): string {
  return id.slice(-8);
}

export const LOG_LEVELS: { value: number; name: string }[] = [
  { value: 10, name: "DEBUG" },
  { value: 20, name: "INFO" },
  { value: 30, name: "WARNING" },
  { value: 40, name: "ERROR" },
  { value: 50, name: "CRITICAL" },
];

export function levelName(level: number): string {
  let name = "DEBUG";
  for (const l of LOG_LEVELS) if (level >= l.value) name = l.name;
  return name;
}
