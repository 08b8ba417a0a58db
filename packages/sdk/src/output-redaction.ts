// The runner's own stdout and stderr, redacted before they leave the process: whatever the flow
// prints (console, process.stdout.write, an uncaught error's stack) reaches the worker, which
// streams it into the run's logs. Writes are held until their line ends, so a secret written in
// several pieces is still whole when it is matched.
import { runRedactor } from "./secrets.ts";

/** A partial line is let out after this long without its newline (progress output). */
const PARTIAL_LINE_MS = 100;

export function installOutputRedaction(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: string | Uint8Array) => boolean;
    let pending = "";
    let timer: NodeJS.Timeout | null = null;
    const flushPartial = () => {
      timer = null;
      if (pending) write(runRedactor.text(pending));
      pending = "";
    };
    stream.write = function (chunk: string | Uint8Array, ...rest: unknown[]): boolean {
      const callback = rest.find((r): r is (err?: Error | null) => void => typeof r === "function");
      pending += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      const end = pending.lastIndexOf("\n");
      let ok = true;
      if (end >= 0) {
        ok = write(runRedactor.text(pending.slice(0, end + 1)));
        pending = pending.slice(end + 1);
      }
      if (timer) clearTimeout(timer);
      timer = pending ? setTimeout(flushPartial, PARTIAL_LINE_MS) : null;
      timer?.unref();
      if (callback) process.nextTick(callback);
      return ok;
    } as typeof stream.write;
    process.on("exit", flushPartial);
  }
}
