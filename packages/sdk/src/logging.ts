// Run loggers. A run logger turns calls into LogRecords for the tracker; outside any run,
// getRunLogger() falls back to a plain stderr logger so code shared with scripts keeps working.
import { format } from "node:util";
import { logLevel } from "./config.ts";

export interface RunLogger {
  debug(message: unknown, ...args: unknown[]): void;
  info(message: unknown, ...args: unknown[]): void;
  warn(message: unknown, ...args: unknown[]): void;
  error(message: unknown, ...args: unknown[]): void;
  critical(message: unknown, ...args: unknown[]): void;
}

export const LEVEL_NAMES: Record<number, string> = {
  10: "DEBUG",
  20: "INFO",
  30: "WARNING",
  40: "ERROR",
  50: "CRITICAL",
};

export function levelName(level: number): string {
  return LEVEL_NAMES[level] ?? `LEVEL${level}`;
}

/** util.format semantics, like console.log, so `logger.info("%d rows", n)` reads naturally. */
export function formatMessage(message: unknown, args: readonly unknown[]): string {
  if (args.length === 0 && typeof message === "string") return message;
  return format(message, ...args);
}

export type LogSink = (level: number, message: string) => void;

/** Level filtering happens here, before formatting, so filtered-out debug calls cost nothing. */
export class SinkLogger implements RunLogger {
  constructor(private readonly sink: LogSink) {}
  debug(message: unknown, ...args: unknown[]): void {
    this.emit(10, message, args);
  }
  info(message: unknown, ...args: unknown[]): void {
    this.emit(20, message, args);
  }
  warn(message: unknown, ...args: unknown[]): void {
    this.emit(30, message, args);
  }
  error(message: unknown, ...args: unknown[]): void {
    this.emit(40, message, args);
  }
  critical(message: unknown, ...args: unknown[]): void {
    this.emit(50, message, args);
  }
  private emit(level: number, message: unknown, args: unknown[]): void {
    if (level < logLevel()) return;
    this.sink(level, formatMessage(message, args));
  }
}

export function consoleLine(at: Date, level: number, who: string | undefined, message: string): string {
  const time = at.toTimeString().slice(0, 8) + "." + String(at.getMilliseconds()).padStart(3, "0");
  return `${time} | ${levelName(level).padEnd(8)} | ${who ? `${who} - ` : ""}${message}\n`;
}

let fallback: RunLogger | undefined;

/** Written straight to stderr, not through console, so logPrints capture never loops on it. */
export function fallbackLogger(): RunLogger {
  return (fallback ??= new SinkLogger((level, message) => {
    process.stderr.write(consoleLine(new Date(), level, undefined, message));
  }));
}
