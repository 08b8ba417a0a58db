// Schedules in words, for the CLI and the dashboard. Only shapes that read unambiguously are put
// into words; anything else falls back to the expression itself, since a wrong sentence is worse
// than a precise expression.
import { CRON_NICKNAMES } from "./cron.ts";
import { DEFAULT_INTERVAL_ANCHOR } from "./interval.ts";
import { parseRrule, type ParsedRrule } from "./rrule.ts";
import { isoToUtcMs, isUtc, localFields, toLocalMs } from "./timezone.ts";
import type { ScheduleSpec } from "./types.ts";

const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const;
const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
] as const;
const CRON_DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const CRON_MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

export function describeSchedule(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case "cron":
      return describeCron(spec.cron, spec.timezone);
    case "interval":
      return describeInterval(spec.intervalSeconds, spec.anchorDate, spec.timezone);
    case "rrule":
      return describeRrule(spec.rrule, spec.timezone);
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
}

const pad = (n: number): string => String(n).padStart(2, "0");

function clock(hour: number, minute: number, second = 0): string {
  return second === 0 ? `${pad(hour)}:${pad(minute)}` : `${pad(hour)}:${pad(minute)}:${pad(second)}`;
}

/** "a", "a and b", "a, b and c". */
function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

function plural(n: number, unit: string): string {
  return n === 1 ? `every ${unit}` : `every ${n} ${unit}s`;
}

/** Sub-daily schedules only depend on the zone when it is not UTC (half-hour offsets, DST). */
function zoneSuffix(timezone: string | undefined, always: boolean): string {
  const zone = timezone ?? "UTC";
  return always || !isUtc(timezone) ? ` (${zone})` : "";
}

/** Weekdays (0 = Sunday) as words, Monday first: "Monday through Friday", "Saturday and Sunday". */
function weekdayWords(days: readonly number[]): string | undefined {
  const set = new Set(days.map((d) => d % 7));
  if (set.size === 7) return undefined;
  const mondayFirst = [1, 2, 3, 4, 5, 6, 0].filter((d) => set.has(d));
  const positions = mondayFirst.map((d) => (d + 6) % 7);
  const contiguous = positions.every((p, i) => i === 0 || p === (positions[i - 1] ?? -2) + 1);
  const names = mondayFirst.map((d) => DAY_NAMES[d] ?? "");
  if (contiguous && names.length >= 3) return `${names[0]} through ${names[names.length - 1]}`;
  return listWords(names);
}

function dayPart(days: readonly number[] | undefined): string {
  const words = days === undefined ? undefined : weekdayWords(days);
  return words === undefined ? "every day" : `on ${words}`;
}

// ---- cron ----

const isStar = (f: string): boolean => f === "*" || f === "?";

function cronNumber(field: string, max: number, names?: readonly string[]): number | undefined {
  if (/^\d{1,2}$/.test(field) && Number(field) <= max) return Number(field);
  const i = names?.indexOf(field.toUpperCase()) ?? -1;
  return i >= 0 ? i : undefined;
}

function cronStep(field: string): number | undefined {
  const m = /^\*\/(\d+)$/.exec(field);
  return m ? Number(m[1]) : undefined;
}

function cronList(field: string, max: number): number[] | undefined {
  const values = field.split(",").map((f) => cronNumber(f, max));
  if (values.some((v) => v === undefined)) return undefined;
  return [...new Set(values as number[])].sort((a, b) => a - b);
}

function cronWeekdays(field: string): number[] | undefined {
  const days: number[] = [];
  for (const part of field.split(",")) {
    const range = part.split("-");
    const [a, b] = range.map((f) => cronNumber(f, 7, CRON_DAY_NAMES));
    if (a === undefined || range.length > 2) return undefined;
    if (range.length === 1) {
      days.push(a % 7);
      continue;
    }
    if (b === undefined || b < a) return undefined;
    for (let d = a; d <= b; d++) days.push(d % 7);
  }
  return days;
}

function describeCron(expression: string, timezone: string | undefined): string {
  const fallback = `cron \`${expression.trim()}\`${zoneSuffix(timezone, true)}`;
  const trimmed = expression.trim();
  const nickname = trimmed.toLowerCase();
  const expr = Object.hasOwn(CRON_NICKNAMES, nickname) ? (CRON_NICKNAMES[nickname] ?? trimmed) : trimmed;
  const fields = expr.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return fallback;
  const [sec, min, hour, dom, mon, dow] = (fields.length === 6 ? fields : ["0", ...fields]) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const sub = zoneSuffix(timezone, false);
  const everyDay = isStar(dom) && isStar(mon) && isStar(dow);

  if (cronNumber(sec, 59) !== 0) {
    if (!everyDay || !isStar(min) || !isStar(hour)) return fallback;
    if (isStar(sec)) return "every second";
    const n = cronStep(sec);
    return n !== undefined && n > 0 && 60 % n === 0 ? plural(n, "second") : fallback;
  }
  if (everyDay) {
    if (isStar(min) && isStar(hour)) return "every minute";
    const minuteStep = cronStep(min);
    if (minuteStep !== undefined && isStar(hour)) {
      return minuteStep > 0 && 60 % minuteStep === 0 ? `${plural(minuteStep, "minute")}${sub}` : fallback;
    }
    const minute = cronNumber(min, 59);
    const hourStep = isStar(hour) ? 1 : cronStep(hour);
    if (minute !== undefined && hourStep !== undefined) {
      if (hourStep <= 0 || 24 % hourStep !== 0) return fallback;
      return `${plural(hourStep, "hour")}${minute === 0 ? "" : ` at minute ${minute}`}${sub}`;
    }
  }

  const minute = cronNumber(min, 59);
  const hours = cronList(hour, 23);
  if (minute === undefined || hours === undefined) return fallback;
  const at = `at ${listWords(hours.map((h) => clock(h, minute)))}`;
  const zone = zoneSuffix(timezone, true);
  if (isStar(dom) && isStar(mon)) {
    if (isStar(dow)) return `${at} every day${zone}`;
    const days = cronWeekdays(dow);
    return days === undefined ? fallback : `${at} ${dayPart(days)}${zone}`;
  }
  if (isStar(dow)) {
    const day = cronNumber(dom, 31);
    if (day === undefined || day < 1) return fallback;
    if (isStar(mon)) return `${at} on day ${day} of every month${zone}`;
    const month = cronNumber(mon, 12, ["", ...CRON_MONTH_NAMES]);
    if (month === undefined || month < 1) return fallback;
    return `${at} on ${MONTH_NAMES[month - 1]} ${day}${zone}`;
  }
  return fallback;
}

// ---- interval ----

const UNITS: readonly [number, string][] = [
  [604_800, "week"],
  [86_400, "day"],
  [3_600, "hour"],
  [60, "minute"],
  [1, "second"],
];

function describeInterval(seconds: number, anchorDate: string | undefined, timezone: string | undefined): string {
  const [size, unit] = UNITS.find(([s]) => seconds % s === 0) ?? [1, "second"];
  const every = plural(seconds / size, unit);
  if (seconds % 86_400 !== 0) return every;
  const zone = timezone ?? "UTC";
  const anchorMs = isoToUtcMs(anchorDate ?? DEFAULT_INTERVAL_ANCHOR, timezone);
  if (anchorMs === undefined) return every;
  const local = localFields(toLocalMs(anchorMs, zone));
  const time = clock(local.hour, local.minute, local.second);
  const weekday = unit === "week" ? ` on ${DAY_NAMES[local.weekday]}` : "";
  return `${every}${weekday} at ${time} (${zone})`;
}

// ---- rrule ----

function describeRrule(text: string, timezone: string | undefined): string {
  const parsed = parseRrule(text);
  const zone = timezone ?? (parsed.ok ? parsed.rule.tzid : undefined);
  const fallback = `rrule \`${text.trim().replace(/\s*\r?\n\s*/g, " ")}\`${zoneSuffix(zone, true)}`;
  if (!parsed.ok) return fallback;
  return describeParsedRrule(parsed.rule, zone) ?? fallback;
}

function describeParsedRrule(rule: ParsedRrule, timezone: string | undefined): string | undefined {
  if (rule.until !== undefined) return undefined;
  // Fields a rule takes from DTSTART; without one they are midnight on 2020-01-01 (a Wednesday).
  const start = rule.dtstart;
  const startLocal =
    start === undefined
      ? Date.UTC(2020, 0, 1)
      : start.kind === "local"
        ? start.localMs
        : toLocalMs(start.utcMs, timezone ?? "UTC");
  const s = localFields(startLocal);
  if (s.second !== 0) return undefined;
  const single = (list: number[] | undefined, fallback: number): number | undefined =>
    list === undefined ? fallback : list.length === 1 ? list[0] : undefined;
  const sub = zoneSuffix(timezone, false);
  const zone = zoneSuffix(timezone, true);

  switch (rule.freq) {
    case "MINUTELY":
      if (rule.byDay || rule.byHour || rule.byMinute || 60 % rule.interval !== 0) return undefined;
      return `${plural(rule.interval, "minute")}${sub}`;
    case "HOURLY": {
      const minute = single(rule.byMinute, s.minute);
      if (rule.byDay || rule.byHour || minute === undefined || 24 % rule.interval !== 0) return undefined;
      return `${plural(rule.interval, "hour")}${minute === 0 ? "" : ` at minute ${minute}`}${sub}`;
    }
    case "DAILY":
    case "WEEKLY": {
      const minute = single(rule.byMinute, s.minute);
      const hours = rule.byHour ?? [s.hour];
      if (minute === undefined) return undefined;
      const at = `at ${listWords(hours.map((h) => clock(h, minute)))}`;
      if (rule.freq === "DAILY") {
        if (rule.interval === 1) return `${at} ${dayPart(rule.byDay)}${zone}`;
        return rule.byDay ? undefined : `${at} every ${rule.interval} days${zone}`;
      }
      const days = rule.byDay ?? [s.weekday];
      if (rule.interval === 1) return `${at} ${dayPart(days)}${zone}`;
      const words = weekdayWords(days);
      return words === undefined ? undefined : `${at} every ${rule.interval} weeks on ${words}${zone}`;
    }
    default: {
      const unreachable: never = rule.freq;
      return unreachable;
    }
  }
}
