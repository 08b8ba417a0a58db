// The daily ETL: fetch_api → validate → load_warehouse → notify.
//
//   npx tsx examples/daily-etl.ts 2024-05-01            # one day, locally (or tracked, see README)
//   npx tsx examples/daily-etl.ts 2024-05-01 --fail     # the API fails once; fetch_api retries
//   npx tsx examples/daily-etl.ts 2024-05-01 --refresh  # fetch again even if the day is cached
//
// fetch_api stands in for an HTTP API: it generates the day's rows deterministically from the
// date, so the example needs no network. `failFirstAttempts` makes its first attempts throw, to
// watch the retry policy ([1, 2, 4] s with ±20% jitter; `retryDelayScale` shortens it for demos
// and tests). Its result is cached per day: a second run for the same day records "Cached".
import { createMarkdownArtifact, flow, getRunContext, getRunLogger, task } from "@flowplane/sdk";
import { z } from "zod";
import { dayBefore, delay, formatCents, isMainModule, pick, seededRandom } from "./lib/simulate.ts";

export interface ApiRow {
  id: string;
  day: string;
  customer: string;
  amountCents: number;
  currency: string;
}

export interface FetchOptions {
  /** Attempts that fail with a simulated 503 before the API answers. */
  failAttempts?: number;
  /** Simulated response time. */
  latencyMs?: number;
}

const RETRY_DELAYS_SECONDS = [1, 2, 4];
const CURRENCIES = ["USD", "EUR", "GBP"] as const;
const CUSTOMERS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", ""] as const;

export const fetchApi = task(
  {
    name: "fetch_api",
    description: "GET /v1/transactions?day=DAY (simulated)",
    retries: 3,
    retryDelaySeconds: RETRY_DELAYS_SECONDS,
    retryJitterFactor: 0.2,
    timeoutSeconds: 30,
    tags: ["api"],
    // A past day's transactions do not change, so one successful fetch per day is enough.
    cacheKey: (ctx, [day]) => `${ctx.taskKey}-${day}`,
    cacheExpirationSeconds: 7 * 24 * 3600,
  },
  async (day: string, options: FetchOptions = {}): Promise<ApiRow[]> => {
    const { attempt, signal } = getRunContext();
    await delay(options.latencyMs ?? 50, signal);
    if (attempt <= (options.failAttempts ?? 0)) {
      throw new Error(`GET /v1/transactions?day=${day}: 503 Service Unavailable (simulated, attempt ${attempt})`);
    }
    const rand = seededRandom(`transactions:${day}`);
    const count = 20 + Math.floor(rand() * 30);
    return Array.from({ length: count }, (_, i) => ({
      id: `${day}-${String(i).padStart(4, "0")}`,
      day,
      customer: pick(rand, CUSTOMERS),
      // About one row in twelve is a refund booked as a negative charge: validate rejects it.
      amountCents: Math.round((rand() < 0.08 ? -1 : 1) * (500 + rand() * 50_000)),
      currency: pick(rand, CURRENCIES),
    }));
  },
);

export interface Validated {
  valid: ApiRow[];
  rejected: { id: string; reason: string }[];
}

export const validate = task({ name: "validate" }, (rows: ApiRow[]): Validated => {
  const result: Validated = { valid: [], rejected: [] };
  for (const row of rows) {
    const reason = row.customer === "" ? "missing customer" : row.amountCents <= 0 ? "non-positive amount" : null;
    if (reason === null) result.valid.push(row);
    else result.rejected.push({ id: row.id, reason });
  }
  if (result.valid.length === 0) throw new Error(`no valid rows out of ${rows.length}`);
  if (result.rejected.length > 0) getRunLogger().warn("rejected %d of %d rows", result.rejected.length, rows.length);
  return result;
});

export interface LoadResult {
  table: string;
  partition: string;
  rowsLoaded: number;
  revenueCents: Record<string, number>;
}

export const loadWarehouse = task(
  { name: "load_warehouse", tags: ["warehouse"] },
  async (day: string, rows: ApiRow[]): Promise<LoadResult> => {
    const logger = getRunLogger();
    await delay(20);
    const revenueCents: Record<string, number> = {};
    for (const row of rows) revenueCents[row.currency] = (revenueCents[row.currency] ?? 0) + row.amountCents;
    // A real load would MERGE into the partition; replaying a day is therefore idempotent.
    logger.info("loaded %d rows into analytics.transactions partition %s", rows.length, day);
    return { table: "analytics.transactions", partition: day, rowsLoaded: rows.length, revenueCents };
  },
);

export const notify = task(
  { name: "notify", tags: ["chat"] },
  (day: string, load: LoadResult, rejected: number): string => {
    const revenue = Object.entries(load.revenueCents)
      .map(([currency, cents]) => `${currency} ${formatCents(cents).replace("$", "")}`)
      .join(", ");
    const message = `daily_etl ${day}: ${load.rowsLoaded} rows loaded into ${load.table}, ${rejected} rejected; revenue ${revenue}`;
    // With logPrints on the flow, this print is also recorded as the notify task run's log line.
    console.log(`[#data-eng] ${message}`);
    return message;
  },
);

export const dailyEtlParameters = z.object({
  /** The day to process (YYYY-MM-DD); default: the day before the run's scheduled time. */
  day: z.iso.date().optional(),
  /** Simulate an unreliable API: this many fetch attempts fail before one succeeds (≤ retries). */
  failFirstAttempts: z.number().int().min(0).max(3).default(0),
  /** Multiplies fetch_api's retry delays ([1, 2, 4] s); 0.01 makes retries near-instant. */
  retryDelayScale: z.number().min(0).max(1).default(1),
  /** Fetch again even when the day's response is cached. */
  refresh: z.boolean().default(false),
});

export interface DailyEtlSummary {
  day: string;
  fetched: number;
  loaded: number;
  rejected: number;
  message: string;
}

export const daily_etl = flow(
  {
    name: "daily_etl",
    description: "Fetch a day of transactions from the API, validate, load into the warehouse, notify the team.",
    version: "1.0.0",
    retries: 1,
    retryDelaySeconds: 5,
    timeoutSeconds: 3600,
    logPrints: true,
    tags: ["etl"],
    parameters: dailyEtlParameters,
  },
  async (params): Promise<DailyEtlSummary> => {
    const ctx = getRunContext();
    const day = params.day ?? dayBefore(ctx.scheduledTime ? new Date(ctx.scheduledTime) : new Date());
    const fetch =
      params.retryDelayScale === 1 && !params.refresh
        ? fetchApi
        : fetchApi.withOptions({
            retryDelaySeconds: RETRY_DELAYS_SECONDS.map((s) => s * params.retryDelayScale),
            refreshCache: params.refresh,
          });
    getRunLogger().info("processing %s", day);

    const rows = await fetch(day, { failAttempts: params.failFirstAttempts });
    const { valid, rejected } = await validate(rows);
    const load = await loadWarehouse(day, valid);
    const message = await notify(day, load, rejected.length);
    createMarkdownArtifact(
      [
        `# daily_etl ${day}`,
        "",
        `- fetched: ${rows.length}`,
        `- loaded: ${load.rowsLoaded}`,
        `- rejected: ${rejected.length}`,
      ].join("\n"),
      { key: "daily-etl-summary", description: `Run summary for ${day}` },
    );
    return { day, fetched: rows.length, loaded: load.rowsLoaded, rejected: rejected.length, message };
  },
);

if (isMainModule(import.meta.url)) {
  const args = process.argv.slice(2);
  const day = args.find((a) => /^\d{4}-\d{2}-\d{2}$/.test(a));
  const fail = args.includes("--fail");
  const summary = await daily_etl({
    ...(day ? { day } : {}),
    // --fail wants to show the retry, so it fetches even when the day is cached.
    ...(fail ? { failFirstAttempts: 1, retryDelayScale: 0.5 } : {}),
    refresh: fail || args.includes("--refresh"),
  });
  console.log(summary.message);
}
