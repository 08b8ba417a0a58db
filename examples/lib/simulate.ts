// Deterministic stand-ins for the outside world (an HTTP API, a warehouse, a chat webhook), so the
// examples run anywhere without network access and produce the same data for the same inputs.
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A small seeded PRNG (mulberry32): same seed → same sequence, in every process. A text seed is
 * hashed (FNV-1a) to the number mulberry32 starts from; the e2e fuzz tests pass numbers.
 */
export function seededRandom(seed: string | number): () => number {
  let h = 2166136261;
  if (typeof seed === "number") h = seed;
  else for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

/** Simulated I/O latency that gives up early when the run's signal aborts (e.g. on a timeout). */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The calendar day before `at` (UTC), as YYYY-MM-DD: what a 02:00 nightly run processes. */
export function dayBefore(at: Date): string {
  return new Date(at.getTime() - 86_400_000).toISOString().slice(0, 10);
}

export function formatCents(cents: number): string {
  return (cents / 100).toLocaleString("en-US", { style: "currency", currency: "USD" });
}

/**
 * True when the module at `moduleUrl` is the script node was started with (`npx tsx examples/x.ts`)
 * rather than an import — a worker's runner and the tests import these files without running them.
 */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  const file = fileURLToPath(moduleUrl);
  const resolved = path.resolve(entry);
  return resolved === file || resolved === file.replace(/\.ts$/, "");
}
