// Wall-clock arithmetic in IANA time zones, built on Intl only (no tz database of our own).
//
// A "local" millisecond value below is the wall-clock reading of a zone encoded as if it were UTC:
// 2026-03-08 01:30 in New York is Date.UTC(2026, 2, 8, 1, 30). Local values have no DST, so adding
// a day to one always moves the clock reading by exactly one day.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      era: "short",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * True for a time zone name Intl knows ("Europe/Berlin", "UTC", "Etc/GMT+5"). Offset strings such
 * as "+02:00" are refused even where Intl accepts them: they have no DST rules, so a schedule
 * written with one silently drifts by an hour twice a year.
 */
export function isValidTimeZone(timeZone: string): boolean {
  if (!/^[A-Za-z]/.test(timeZone)) return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function isUtc(timeZone: string | undefined): boolean {
  return timeZone === undefined || /^(Etc\/)?(UTC|UCT|GMT|Zulu|Universal|Greenwich)$/i.test(timeZone);
}

/** The wall-clock reading of `utcMs` in `timeZone`, encoded as a local millisecond value. */
export function toLocalMs(utcMs: number, timeZone: string): number {
  if (isUtc(timeZone)) return utcMs;
  const parts = formatterFor(timeZone).formatToParts(new Date(utcMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? NaN);
  let year = get("year");
  if (parts.find((p) => p.type === "era")?.value === "BC") year = 1 - year;
  // Date.UTC maps years 0..99 to 1900..1999, so the year is set separately, on a leap year base
  // so that 29 February survives until then.
  const d = new Date(Date.UTC(2000, get("month") - 1, get("day"), get("hour"), get("minute"), get("second")));
  d.setUTCFullYear(year);
  return d.getTime() + (((utcMs % 1000) + 1000) % 1000);
}

/** UTC offset of `timeZone` at instant `utcMs`, in milliseconds (New York in winter: -5h). */
export function offsetAt(utcMs: number, timeZone: string): number {
  return toLocalMs(utcMs, timeZone) - utcMs;
}

const DAY_MS = 86_400_000;

/**
 * The instant at which `timeZone`'s clock reads `localMs`.
 *
 * A reading that occurs twice (clocks set back) resolves to the first occurrence. A reading that
 * never occurs (clocks set forward) is read with the offset in force before the gap, which moves it
 * forward by the gap's length: 02:30 on a spring-forward night in New York becomes 03:30 EDT. Both
 * choices are RFC 5545's (section 3.3.5) and match what a person setting an alarm expects.
 */
export function fromLocalMs(localMs: number, timeZone: string): number {
  if (isUtc(timeZone)) return localMs;
  // Offsets a day either side bracket any single transition near this reading.
  const before = offsetAt(localMs - DAY_MS, timeZone);
  const after = offsetAt(localMs + DAY_MS, timeZone);
  const candidates = [localMs - before, localMs - after].filter((t) => toLocalMs(t, timeZone) === localMs);
  if (candidates.length > 0) return Math.min(...candidates);
  return localMs - before;
}

export interface LocalFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
}

export function localFields(localMs: number): LocalFields {
  const d = new Date(localMs);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
    weekday: d.getUTCDay(),
  };
}

export type ParsedDateTime =
  /** The text carried a `Z` or an offset: it names one instant. */
  | { kind: "instant"; utcMs: number }
  /** No offset: a wall-clock reading, to be placed in the schedule's time zone. */
  | { kind: "local"; localMs: number };

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Parses ISO-8601 calendar dates and date-times, refusing impossible fields (2026-02-30, 24:10). */
export function parseIsoDateTime(text: string): ParsedDateTime | undefined {
  const m = ISO_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
  if (day < 1 || day > daysInMonth) return undefined;
  const ms = Math.floor(Number(`0.${frac || "0"}`) * 1000);
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms));
  date.setUTCFullYear(year);
  const localMs = date.getTime();
  if (zone === undefined) return { kind: "local", localMs };
  if (zone === "Z" || zone === "z") return { kind: "instant", utcMs: localMs };
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const offsetHours = Number(digits.slice(0, 2));
  const offsetMinutes = Number(digits.slice(2) || "0");
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  return { kind: "instant", utcMs: localMs - sign * (offsetHours * 60 + offsetMinutes) * 60_000 };
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** The instant `text` names; an ISO string without an offset is read on `timeZone`'s clock. */
export function isoToUtcMs(text: string, timeZone: string | undefined): number | undefined {
  const parsed = parseIsoDateTime(text);
  if (!parsed) return undefined;
  return parsed.kind === "instant" ? parsed.utcMs : fromLocalMs(parsed.localMs, timeZone ?? "UTC");
}
