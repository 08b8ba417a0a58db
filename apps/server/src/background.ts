// Periodic services each replica runs: liveness sweeps (and, from the deployments work, the
// scheduler). Each loop waits for its previous pass to finish, so a slow database never stacks
// passes, and errors are logged without stopping the loop.
import type { Logger } from "pino";

export interface Loop {
  stop(): Promise<void>;
}

export function startLoop(name: string, intervalMs: number, logger: Logger, pass: () => Promise<unknown>): Loop {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    running = (async () => {
      try {
        const result = await pass();
        if (result && typeof result === "object" && Object.values(result).some((v) => typeof v === "number" && v > 0))
          logger.info({ loop: name, ...result }, `${name} pass`);
      } catch (err) {
        logger.error({ err, loop: name }, `${name} pass failed`);
      }
    })();
    void running.then(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  timer = setTimeout(tick, Math.min(intervalMs, 1_000));
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
