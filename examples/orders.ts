// The orders pipeline: extract → transform → load → quality_check. The quality check records its
// results as artifacts (a table of checks and a markdown report, versioned under their keys) and
// fails the run when a check fails — so bad data stops here instead of reaching the dashboards.
//
//   npx tsx examples/orders.ts 2024-05-01
//   npx tsx examples/orders.ts 2024-05-01 --corrupt   # duplicate orders: the quality check fails
import { createMarkdownArtifact, createTableArtifact, flow, getRunContext, getRunLogger, task } from "@flowplane/sdk";
import { z } from "zod";
import { dayBefore, delay, formatCents, isMainModule, pick, seededRandom } from "./lib/simulate.ts";

export interface Order {
  orderId: string;
  customer: string;
  items: number;
  subtotalCents: number;
  status: "paid" | "refunded" | "pending";
}

export interface EnrichedOrder extends Order {
  taxCents: number;
  totalCents: number;
}

export interface QualityCheck {
  check: string;
  passed: boolean;
  observed: string;
  expected: string;
}

const CUSTOMERS = ["acme", "globex", "initech", "umbrella", "hooli"] as const;
const STATUSES = ["paid", "paid", "paid", "refunded", "pending"] as const;
const TAX_RATE = 0.2;

export const extractOrders = task(
  { name: "extract_orders", retries: 2, retryDelaySeconds: 1, tags: ["source"] },
  async (day: string, duplicates: number): Promise<Order[]> => {
    await delay(20);
    const rand = seededRandom(`orders:${day}`);
    const orders: Order[] = Array.from({ length: 40 + Math.floor(rand() * 40) }, (_, i) => ({
      orderId: `ord-${day.replaceAll("-", "")}-${String(i).padStart(5, "0")}`,
      customer: pick(rand, CUSTOMERS),
      items: 1 + Math.floor(rand() * 5),
      subtotalCents: 1_000 + Math.floor(rand() * 20_000),
      status: pick(rand, STATUSES),
    }));
    // Simulates an at-least-once source replaying some rows.
    orders.push(...orders.slice(0, duplicates));
    getRunLogger().info("extracted %d orders for %s", orders.length, day);
    return orders;
  },
);

export const transformOrders = task({ name: "transform_orders" }, (orders: Order[]): EnrichedOrder[] =>
  orders.map((o) => {
    const taxCents = Math.round(o.subtotalCents * TAX_RATE);
    return { ...o, taxCents, totalCents: o.subtotalCents + taxCents };
  }),
);

export const loadOrders = task(
  { name: "load_orders", tags: ["warehouse"] },
  async (orders: EnrichedOrder[]): Promise<number> => {
    await delay(20);
    return orders.length;
  },
);

export function runChecks(orders: EnrichedOrder[], loaded: number): QualityCheck[] {
  const ids = new Set(orders.map((o) => o.orderId));
  const negative = orders.filter((o) => o.totalCents < 0).length;
  const badTotals = orders.filter((o) => o.totalCents !== o.subtotalCents + o.taxCents).length;
  return [
    { check: "row_count", passed: orders.length > 0, observed: String(orders.length), expected: "> 0" },
    {
      check: "unique_order_id",
      passed: ids.size === orders.length,
      observed: `${orders.length - ids.size} duplicates`,
      expected: "0 duplicates",
    },
    { check: "non_negative_total", passed: negative === 0, observed: `${negative} negative`, expected: "0 negative" },
    {
      check: "total_is_subtotal_plus_tax",
      passed: badTotals === 0,
      observed: `${badTotals} mismatched`,
      expected: "0 mismatched",
    },
    {
      check: "all_rows_loaded",
      passed: loaded === orders.length,
      observed: String(loaded),
      expected: String(orders.length),
    },
  ];
}

export const qualityCheck = task(
  { name: "quality_check", tags: ["quality"] },
  (day: string, orders: EnrichedOrder[], loaded: number): QualityCheck[] => {
    const checks = runChecks(orders, loaded);
    const failed = checks.filter((c) => !c.passed);
    createTableArtifact(
      checks.map((c) => ({
        check: c.check,
        status: c.passed ? "pass" : "FAIL",
        observed: c.observed,
        expected: c.expected,
      })),
      { key: "orders-quality-checks", description: `Data quality checks for ${day}` },
    );
    const revenue = orders.filter((o) => o.status === "paid").reduce((sum, o) => sum + o.totalCents, 0);
    createMarkdownArtifact(
      [
        `# Orders quality report — ${day}`,
        "",
        failed.length === 0
          ? `All ${checks.length} checks passed.`
          : `**${failed.length} of ${checks.length} checks failed:** ${failed.map((c) => c.check).join(", ")}`,
        "",
        `- orders: ${orders.length}`,
        `- paid revenue: ${formatCents(revenue)}`,
      ].join("\n"),
      { key: "orders-quality-report" },
    );
    if (failed.length > 0)
      throw new Error(`quality checks failed: ${failed.map((c) => `${c.check} (${c.observed})`).join("; ")}`);
    getRunLogger().info("all %d quality checks passed", checks.length);
    return checks;
  },
);

export const orders_pipeline = flow(
  {
    name: "orders_pipeline",
    description: "Extract, transform and load a day of orders, then check the loaded data.",
    logPrints: true,
    tags: ["orders"],
    parameters: z.object({
      day: z.iso.date().optional(),
      /** Replay this many orders twice, so the uniqueness check fails. */
      duplicates: z.number().int().min(0).default(0),
    }),
  },
  async (params) => {
    const { scheduledTime } = getRunContext();
    const day = params.day ?? dayBefore(scheduledTime ? new Date(scheduledTime) : new Date());
    const orders = await extractOrders(day, params.duplicates);
    const enriched = await transformOrders(orders);
    const loaded = await loadOrders(enriched);
    const checks = await qualityCheck(day, enriched, loaded);
    return { day, orders: loaded, checks: checks.length };
  },
);

if (isMainModule(import.meta.url)) {
  const day = process.argv.slice(2).find((a) => /^\d{4}-\d{2}-\d{2}$/.test(a));
  try {
    console.log(
      await orders_pipeline({ ...(day ? { day } : {}), duplicates: process.argv.includes("--corrupt") ? 3 : 0 }),
    );
  } catch (err) {
    // The run's logs already explain the failure; exit non-zero like any failed job.
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
