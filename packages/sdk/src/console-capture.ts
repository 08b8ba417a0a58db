// logPrints: console.* calls made while a run with logPrints is the active async context are also
// recorded as that run's log lines. The console is patched once, lazily (only when some run asks
// for it), and the patch still prints — capture adds a copy — except under a worker that streams
// the process's output into the run's logs already (see envOutputStreamed).
import { runStorage } from "./context.ts";
import { formatMessage } from "./logging.ts";
import { logLevel } from "./config.ts";
import { envOutputStreamed } from "./env.ts";

const METHODS = [
  ["debug", 10],
  ["log", 20],
  ["info", 20],
  ["warn", 30],
  ["error", 40],
] as const;

let installed = false;
// A tracker that itself writes to the console must not feed its own output back in.
let capturing = false;

export function installConsoleCapture(): void {
  if (installed) return;
  installed = true;
  const outputStreamed = envOutputStreamed();
  for (const [method, level] of METHODS) {
    const original = console[method];
    console[method] = function (this: unknown, ...args: unknown[]): void {
      const scope = runStorage.getStore();
      if (scope !== undefined && scope.logPrints && !capturing && level >= logLevel()) {
        capturing = true;
        try {
          scope.emitLog(level, args.length === 0 ? "" : formatMessage(args[0], args.slice(1)), true);
        } finally {
          capturing = false;
        }
        if (outputStreamed) return;
      }
      original.apply(this ?? console, args);
    };
  }
}
