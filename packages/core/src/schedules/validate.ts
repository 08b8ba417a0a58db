import { compileCron } from "./cron.ts";
import { DEFAULT_INTERVAL_ANCHOR, intervalSlots } from "./interval.ts";
import { parseRrule, rruleSlots } from "./rrule.ts";
import { isoToUtcMs, isValidTimeZone } from "./timezone.ts";
import type { CompiledSchedule, ScheduleIssue, ScheduleKind, ScheduleSpec } from "./types.ts";

export type ScheduleValidation = { ok: true; spec: ScheduleSpec } | { ok: false; errors: ScheduleIssue[] };

const FIELDS: Record<ScheduleKind, readonly string[]> = {
  cron: ["kind", "cron", "timezone"],
  interval: ["kind", "intervalSeconds", "anchorDate", "timezone"],
  rrule: ["kind", "rrule", "timezone"],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  if (v === undefined) return "nothing";
  return Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : typeof v;
}

/**
 * Checks a schedule from an untrusted source (CLI flags, flowplane.yaml, API input) and returns it
 * normalized: expressions trimmed, absent optional fields dropped (null counts as absent), fields
 * that are not part of a schedule dropped, an anchor given as a Date turned into ISO text.
 */
export function validateSchedule(spec: unknown): ScheduleValidation {
  const r = compileSchedule(spec);
  return r.ok ? { ok: true, spec: r.compiled.spec } : r;
}

export function compileSchedule(
  input: unknown,
): { ok: true; compiled: CompiledSchedule } | { ok: false; errors: ScheduleIssue[] } {
  if (!isRecord(input))
    return { ok: false, errors: [{ path: "", message: `a schedule must be an object, got ${show(input)}` }] };
  const kind = input.kind;
  if (kind !== "cron" && kind !== "interval" && kind !== "rrule") {
    return {
      ok: false,
      errors: [{ path: "kind", message: `must be "cron", "interval" or "rrule" (got ${show(kind)})` }],
    };
  }
  const errors: ScheduleIssue[] = [];
  // Other keys are ignored (callers keep `active`, `parameters`… beside the spec), but a field of
  // another kind means the schedule is not what its author thinks, e.g. `cron` on an interval.
  for (const key of Object.keys(input)) {
    const other = (Object.keys(FIELDS) as ScheduleKind[]).find((k) => k !== kind && FIELDS[k].includes(key));
    if (other && !FIELDS[kind].includes(key) && input[key] !== undefined && input[key] !== null) {
      errors.push({
        path: key,
        message: `belongs to ${other} schedules, not ${kind} (allowed: ${FIELDS[kind].join(", ")})`,
      });
    }
  }

  let timezone: string | undefined;
  if (input.timezone !== undefined && input.timezone !== null) {
    if (typeof input.timezone !== "string") {
      errors.push({
        path: "timezone",
        message: `must be an IANA time zone name such as "Europe/Berlin" (got ${show(input.timezone)})`,
      });
    } else if (!isValidTimeZone(input.timezone)) {
      errors.push({
        path: "timezone",
        message: `unknown IANA time zone ${show(input.timezone)} (e.g. "UTC", "Europe/Berlin", "America/New_York")`,
      });
    } else {
      timezone = input.timezone;
    }
  }
  const timezoneOk = !errors.some((e) => e.path === "timezone");
  const withZone = <T extends object>(s: T): T & { timezone?: string } =>
    timezone === undefined ? s : { ...s, timezone };

  switch (kind) {
    case "cron": {
      if (typeof input.cron !== "string" || input.cron.trim() === "") {
        errors.push({
          path: "cron",
          message: `must be a cron expression such as "0 2 * * *" (got ${show(input.cron)})`,
        });
        return { ok: false, errors };
      }
      if (!timezoneOk) return { ok: false, errors };
      const compiled = compileCron(input.cron, timezone);
      if (!compiled.ok) return { ok: false, errors: [...errors, compiled.issue] };
      if (errors.length > 0) return { ok: false, errors };
      // A pattern like `0 0 30 2 *` parses but names a day that never comes.
      if (compiled.slotsAfter(Date.UTC(2020, 0, 1)).next().done) {
        return {
          ok: false,
          errors: [{ path: "cron", message: `cron expression "${input.cron}" never matches a date` }],
        };
      }
      return {
        ok: true,
        compiled: {
          spec: withZone({ kind: "cron" as const, cron: input.cron.trim() }),
          slotsAfter: compiled.slotsAfter,
        },
      };
    }
    case "interval": {
      const seconds = input.intervalSeconds;
      if (typeof seconds !== "number" || !Number.isFinite(seconds)) {
        errors.push({ path: "intervalSeconds", message: `must be a whole number of seconds (got ${show(seconds)})` });
      } else if (!Number.isInteger(seconds)) {
        errors.push({ path: "intervalSeconds", message: `must be a whole number of seconds (got ${seconds})` });
      } else if (seconds < 1) {
        errors.push({ path: "intervalSeconds", message: `must be at least 1 second (got ${seconds})` });
      } else if (seconds * 1000 > Number.MAX_SAFE_INTEGER / 2) {
        errors.push({ path: "intervalSeconds", message: `is too large (got ${seconds})` });
      }
      let anchorDate: string | undefined;
      const rawAnchor = input.anchorDate;
      if (rawAnchor instanceof Date) {
        if (Number.isNaN(rawAnchor.getTime())) errors.push({ path: "anchorDate", message: "is an invalid Date" });
        else anchorDate = rawAnchor.toISOString();
      } else if (typeof rawAnchor === "string") {
        if (isoToUtcMs(rawAnchor, "UTC") === undefined) {
          errors.push({
            path: "anchorDate",
            message: `must be an ISO-8601 date-time such as "2026-01-01T09:00:00Z" (got ${show(rawAnchor)})`,
          });
        } else {
          anchorDate = rawAnchor.trim();
        }
      } else if (rawAnchor !== undefined && rawAnchor !== null) {
        errors.push({ path: "anchorDate", message: `must be an ISO-8601 date-time string (got ${show(rawAnchor)})` });
      }
      if (errors.length > 0) return { ok: false, errors };
      const intervalSeconds = seconds as number;
      const anchorMs = isoToUtcMs(anchorDate ?? DEFAULT_INTERVAL_ANCHOR, timezone) as number;
      const spec = withZone(
        anchorDate === undefined
          ? { kind: "interval" as const, intervalSeconds }
          : { kind: "interval" as const, intervalSeconds, anchorDate },
      );
      return { ok: true, compiled: { spec, slotsAfter: intervalSlots(intervalSeconds, anchorMs, timezone) } };
    }
    case "rrule": {
      if (typeof input.rrule !== "string" || input.rrule.trim() === "") {
        errors.push({
          path: "rrule",
          message: `must be an RRULE such as "FREQ=DAILY;BYHOUR=9;BYMINUTE=0" (got ${show(input.rrule)})`,
        });
        return { ok: false, errors };
      }
      const parsed = parseRrule(input.rrule);
      if (!parsed.ok)
        return { ok: false, errors: [...errors, { path: "rrule", message: `invalid rrule: ${parsed.message}` }] };
      const { tzid } = parsed.rule;
      if (tzid !== undefined) {
        if (!isValidTimeZone(tzid)) {
          errors.push({ path: "rrule", message: `DTSTART names unknown IANA time zone ${show(tzid)}` });
        } else if (timezone !== undefined && timezone !== tzid) {
          errors.push({ path: "rrule", message: `DTSTART;TZID=${tzid} contradicts timezone ${show(timezone)}` });
        }
      }
      if (errors.length > 0) return { ok: false, errors };
      const zone = timezone ?? tzid ?? "UTC";
      const slotsAfter = rruleSlots(parsed.rule, zone);
      if (slotsAfter(Number.MIN_SAFE_INTEGER).next().done) {
        return {
          ok: false,
          errors: [
            {
              path: "rrule",
              message: "rrule produces no times (check BYDAY against INTERVAL, and UNTIL against DTSTART)",
            },
          ],
        };
      }
      const spec = withZone({ kind: "rrule" as const, rrule: input.rrule.trim() });
      return { ok: true, compiled: { spec, slotsAfter } };
    }
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}
