// A small, exact subset of RFC 5545 recurrence rules:
//
//   [DTSTART[;TZID=Zone]:YYYYMMDD[THHMMSS[Z]]] newline [RRULE:]FREQ=…;INTERVAL=…;BYDAY=…;BYHOUR=…;BYMINUTE=…;WKST=…;UNTIL=…
//
// FREQ is MINUTELY, HOURLY, DAILY or WEEKLY. BY* parts coarser than FREQ filter (BYHOUR=9 with
// FREQ=MINUTELY keeps the minutes of 09:xx); finer ones expand (BYMINUTE=0,30 with FREQ=DAILY gives two
// times a day), and a finer field that is not given takes its value from DTSTART, as the RFC says.
// Seconds always come from DTSTART. Only occurrences at or after DTSTART count; UNTIL is inclusive.
// Anything else (COUNT, BYMONTH, BYSETPOS, EXDATE, numbered BYDAY such as 1MO…) is refused by name
// rather than silently ignored.
//
// Times are wall-clock times in the rule's zone (RFC 5545 3.3.10): a daily 09:00 stays 09:00 across
// DST. A time that occurs twice resolves to its first occurrence; a time inside a spring-forward gap
// moves forward by the gap's length (3.3.5), so 02:30 becomes 03:30 in New York.
import { fromLocalMs, isUtc, localFields, parseIsoDateTime, toLocalMs, type ParsedDateTime } from "./timezone.ts";
import { MAX_DATE_MS } from "./types.ts";

export const RRULE_FREQUENCIES = ["MINUTELY", "HOURLY", "DAILY", "WEEKLY"] as const;
export type RruleFrequency = (typeof RRULE_FREQUENCIES)[number];

/** Indexed like Date#getUTCDay: 0 = Sunday. */
export const WEEKDAY_CODES = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"] as const;

export interface ParsedRrule {
  freq: RruleFrequency;
  interval: number;
  /** Sorted, unique; undefined when the part is absent. */
  byHour?: number[];
  byMinute?: number[];
  /** 0 = Sunday … 6 = Saturday. */
  byDay?: number[];
  /** First day of the week for WEEKLY intervals; Monday unless WKST says otherwise. */
  weekStart: number;
  /** Undefined: 2020-01-01T00:00:00 on the schedule's clock. */
  dtstart?: ParsedDateTime;
  /** The zone named by DTSTART;TZID=…, if any. */
  tzid?: string;
  until?: ParsedDateTime;
}

const DAY_MS = 86_400_000;
const PERIOD_MS: Record<RruleFrequency, number> = {
  MINUTELY: 60_000,
  HOURLY: 3_600_000,
  DAILY: DAY_MS,
  WEEKLY: 7 * DAY_MS,
};

const SUPPORTED_PARTS = ["FREQ", "INTERVAL", "BYDAY", "BYHOUR", "BYMINUTE", "WKST", "UNTIL"];

export function parseRrule(text: string): { ok: true; rule: ParsedRrule } | { ok: false; message: string } {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  let ruleText: string | undefined;
  let dtstart: ParsedDateTime | undefined;
  let tzid: string | undefined;
  for (const line of lines) {
    const upper = line.toUpperCase();
    if (upper.startsWith("DTSTART")) {
      if (dtstart) return { ok: false, message: "DTSTART appears more than once" };
      const colon = line.indexOf(":");
      if (colon < 0) return { ok: false, message: `DTSTART has no value: "${line}"` };
      const params = line.slice("DTSTART".length, colon).split(";").filter(Boolean);
      for (const param of params) {
        const [key = "", value = ""] = param.split("=", 2);
        if (key.toUpperCase() === "TZID") tzid = value;
        else if (key.toUpperCase() === "VALUE" && ["DATE", "DATE-TIME"].includes(value.toUpperCase())) continue;
        else return { ok: false, message: `unsupported DTSTART parameter "${param}"` };
      }
      const value = line.slice(colon + 1);
      const parsed = parseRruleDate(value);
      if (!parsed)
        return {
          ok: false,
          message: `invalid DTSTART "${value}" (expected YYYYMMDD or YYYYMMDDTHHMMSS, optionally ending in Z)`,
        };
      if (tzid !== undefined && parsed.kind === "instant") {
        return { ok: false, message: "DTSTART cannot carry both TZID and a UTC time (Z)" };
      }
      dtstart = parsed;
    } else if (upper.startsWith("RRULE:") || upper.startsWith("FREQ=")) {
      if (ruleText !== undefined) return { ok: false, message: "only one RRULE is supported" };
      ruleText = upper.startsWith("RRULE:") ? line.slice("RRULE:".length) : line;
    } else {
      const name = line.split(/[:;]/, 1)[0];
      return { ok: false, message: `unsupported line "${name}" (only DTSTART and RRULE are supported)` };
    }
  }
  if (ruleText === undefined) return { ok: false, message: "missing RRULE (e.g. FREQ=DAILY;BYHOUR=9;BYMINUTE=0)" };

  const parts = new Map<string, string>();
  let unsupported: string | undefined;
  for (const part of ruleText.split(";").filter((p) => p.trim() !== "")) {
    const eq = part.indexOf("=");
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toUpperCase();
    const value =
      eq < 0
        ? ""
        : part
            .slice(eq + 1)
            .trim()
            .toUpperCase();
    if (!SUPPORTED_PARTS.includes(key)) unsupported ??= key;
    if (parts.has(key)) return { ok: false, message: `${key} appears more than once` };
    parts.set(key, value);
  }

  // An unsupported FREQ explains more than the BY* parts that come with it, so it is reported first.
  const freq = parts.get("FREQ");
  if (freq === undefined) return { ok: false, message: "FREQ is required" };
  if (!(RRULE_FREQUENCIES as readonly string[]).includes(freq)) {
    return { ok: false, message: `FREQ=${freq} is not supported (supported: ${RRULE_FREQUENCIES.join(", ")})` };
  }
  if (unsupported !== undefined) {
    return { ok: false, message: `${unsupported} is not supported (supported: ${SUPPORTED_PARTS.join(", ")})` };
  }
  const rule: ParsedRrule = { freq: freq as RruleFrequency, interval: 1, weekStart: 1 };

  const interval = parts.get("INTERVAL");
  if (interval !== undefined) {
    if (!/^\d+$/.test(interval) || Number(interval) < 1 || !Number.isSafeInteger(Number(interval))) {
      return { ok: false, message: `INTERVAL must be a positive integer (got "${interval}")` };
    }
    rule.interval = Number(interval);
  }
  for (const [key, max] of [
    ["BYHOUR", 23],
    ["BYMINUTE", 59],
  ] as const) {
    const raw = parts.get(key);
    if (raw === undefined) continue;
    const values = raw.split(",").map((v) => v.trim());
    if (values.some((v) => !/^\d{1,2}$/.test(v) || Number(v) > max)) {
      return { ok: false, message: `${key} must be a list of integers from 0 to ${max} (got "${raw}")` };
    }
    const sorted = [...new Set(values.map(Number))].sort((a, b) => a - b);
    if (key === "BYHOUR") rule.byHour = sorted;
    else rule.byMinute = sorted;
  }
  const byDay = parts.get("BYDAY");
  if (byDay !== undefined) {
    const days: number[] = [];
    for (const code of byDay.split(",").map((v) => v.trim())) {
      const index = (WEEKDAY_CODES as readonly string[]).indexOf(code);
      if (index < 0) {
        const numbered = /^[+-]?\d+[A-Z]{2}$/.test(code);
        return {
          ok: false,
          message: numbered
            ? `BYDAY=${code}: numbered weekdays are not supported`
            : `BYDAY must list weekdays ${WEEKDAY_CODES.join(", ")} (got "${code}")`,
        };
      }
      days.push(index);
    }
    rule.byDay = [...new Set(days)].sort((a, b) => a - b);
  }
  const wkst = parts.get("WKST");
  if (wkst !== undefined) {
    const index = (WEEKDAY_CODES as readonly string[]).indexOf(wkst);
    if (index < 0) return { ok: false, message: `WKST must be one of ${WEEKDAY_CODES.join(", ")} (got "${wkst}")` };
    rule.weekStart = index;
  }
  const until = parts.get("UNTIL");
  if (until !== undefined) {
    const parsed = parseRruleDate(until);
    if (!parsed)
      return {
        ok: false,
        message: `invalid UNTIL "${until}" (expected YYYYMMDD or YYYYMMDDTHHMMSS, optionally ending in Z)`,
      };
    rule.until = parsed;
  }
  if (dtstart) rule.dtstart = dtstart;
  if (tzid !== undefined) rule.tzid = tzid;
  return { ok: true, rule };
}

function parseRruleDate(value: string): ParsedDateTime | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?(Z?)$/i.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = "00", mi = "00", s = "00", z] = m;
  return parseIsoDateTime(`${y}-${mo}-${d}T${h}:${mi}:${s}${z ? "Z" : ""}`);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Slot times of `rule` in `timezone`, which must already be a valid zone. */
export function rruleSlots(rule: ParsedRrule, timezone: string): (afterMs: number) => Iterator<number, undefined> {
  const utc = isUtc(timezone);
  const startLocal =
    rule.dtstart === undefined
      ? Date.UTC(2020, 0, 1)
      : rule.dtstart.kind === "local"
        ? rule.dtstart.localMs
        : toLocalMs(rule.dtstart.utcMs, timezone);
  const startUtc = rule.dtstart?.kind === "instant" ? rule.dtstart.utcMs : fromLocalMs(startLocal, timezone);
  const untilUtc =
    rule.until === undefined
      ? MAX_DATE_MS
      : rule.until.kind === "instant"
        ? rule.until.utcMs
        : fromLocalMs(rule.until.localMs, timezone);

  const start = localFields(startLocal);
  const secondMs = start.second * 1000;
  const hours = rule.byHour ?? [start.hour];
  const minutes = rule.byMinute ?? [start.minute];
  const stepMs = PERIOD_MS[rule.freq] * rule.interval;
  const dayStart = startLocal - (((startLocal % DAY_MS) + DAY_MS) % DAY_MS);
  const base = ((): number => {
    switch (rule.freq) {
      case "MINUTELY":
        return startLocal - start.second * 1000 - start.millisecond;
      case "HOURLY":
        return startLocal - (start.minute * 60 + start.second) * 1000 - start.millisecond;
      case "DAILY":
        return dayStart;
      case "WEEKLY":
        return dayStart - ((start.weekday - rule.weekStart + 7) % 7) * DAY_MS;
      default: {
        const unreachable: never = rule.freq;
        return unreachable;
      }
    }
  })();
  // The BY* filters repeat with the week, so a rule that yields nothing for this many consecutive
  // periods never will (e.g. FREQ=DAILY;INTERVAL=7;BYDAY=TU starting on a Monday).
  const periodsPerWeek = (7 * DAY_MS) / PERIOD_MS[rule.freq];
  const maxEmptyPeriods = periodsPerWeek / gcd(rule.interval % periodsPerWeek || periodsPerWeek, periodsPerWeek) + 1;

  const timesOfDay: number[] = [];
  for (const h of hours) for (const m of minutes) timesOfDay.push((h * 60 + m) * 60_000 + secondMs);
  timesOfDay.sort((a, b) => a - b);
  const weekDayOffsets = (rule.byDay ?? [start.weekday]).map((d) => (d - rule.weekStart + 7) % 7).sort((a, b) => a - b);

  const allows = (list: number[] | undefined, value: number): boolean => list === undefined || list.includes(value);
  const candidates = (periodStart: number): number[] => {
    const p = localFields(periodStart);
    switch (rule.freq) {
      case "MINUTELY":
        return allows(rule.byDay, p.weekday) && allows(rule.byHour, p.hour) && allows(rule.byMinute, p.minute)
          ? [periodStart + secondMs]
          : [];
      case "HOURLY":
        return allows(rule.byDay, p.weekday) && allows(rule.byHour, p.hour)
          ? minutes.map((m) => periodStart + m * 60_000 + secondMs)
          : [];
      case "DAILY":
        return allows(rule.byDay, p.weekday) ? timesOfDay.map((t) => periodStart + t) : [];
      case "WEEKLY":
        return weekDayOffsets.flatMap((d) => timesOfDay.map((t) => periodStart + d * DAY_MS + t));
      default: {
        const unreachable: never = rule.freq;
        return unreachable;
      }
    }
  };

  // Offsets (local - utc) that may apply to a local reading, cached per local day. Readings within
  // a day of each other bracket any real transition.
  const offsetCache = new Map<number, { min: number; max: number }>();
  const offsetRange = (local: number): { min: number; max: number } => {
    if (utc) return { min: 0, max: 0 };
    const day = Math.floor(local / DAY_MS);
    let range = offsetCache.get(day);
    if (!range) {
      const probes = [-DAY_MS, 0, DAY_MS, 2 * DAY_MS].map(
        (d) => toLocalMs(day * DAY_MS + d, timezone) - (day * DAY_MS + d),
      );
      range = { min: Math.min(...probes), max: Math.max(...probes) };
      offsetCache.set(day, range);
    }
    return range;
  };

  return function* (afterMs: number) {
    // Far before DTSTART any reading starts the scan at period 0; skipping Intl there also keeps
    // out-of-range instants away from it.
    const afterLocal = utc || afterMs < startUtc - 2 * DAY_MS ? afterMs : toLocalMs(afterMs, timezone);
    let k = Math.max(0, Math.floor((afterLocal - DAY_MS - base) / stepMs));
    // Local readings map to instants in order except around a spring-forward gap, where a shifted
    // reading can overtake the next ones; instants wait here until no later reading can precede them.
    const pending: number[] = [];
    let last = afterMs;
    let emptyPeriods = 0;
    for (;;) {
      const periodStart = base + k * stepMs;
      const done = periodStart > MAX_DATE_MS - 2 * DAY_MS || emptyPeriods > maxEmptyPeriods;
      const lowerBound = done ? Infinity : periodStart - offsetRange(periodStart).max;
      while (pending.length > 0 && (pending[0] ?? Infinity) < lowerBound) {
        const next = pending.shift() as number;
        if (next > last) {
          last = next;
          yield next;
        }
      }
      if (done || lowerBound > untilUtc) return undefined;

      const found = candidates(periodStart);
      emptyPeriods = found.length === 0 ? emptyPeriods + 1 : 0;
      for (const local of found) {
        if (local - offsetRange(local).min <= afterMs) continue;
        const instant = fromLocalMs(local, timezone);
        if (instant < startUtc || instant <= afterMs || instant > untilUtc) continue;
        const at = pending.findIndex((p) => p >= instant);
        if (at < 0) pending.push(instant);
        else if (pending[at] !== instant) pending.splice(at, 0, instant);
      }
      k++;
    }
  };
}
