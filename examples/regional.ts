// A regional fan-out: one task run per region with `.map` (at most `concurrency` in flight), then
// a report built from a future (`.submit`) while the flow logs the league table.
//
//   npx tsx examples/regional.ts
import { createTableArtifact, flow, getRunContext, getRunLogger, task } from "@flowplane/sdk";
import { z } from "zod";
import { delay, isMainModule, seededRandom } from "./lib/simulate.ts";

export const REGIONS = ["us-east", "us-west", "eu-central", "eu-west", "ap-south", "ap-northeast"] as const;
export type Region = (typeof REGIONS)[number];

export interface RegionTotals {
  region: Region;
  orders: number;
  revenueCents: number;
}

export const fetchRegion = task(
  {
    name: "fetch_region",
    retries: 2,
    retryDelaySeconds: [0.5, 1],
    timeoutSeconds: 60,
    tags: ["api", "fan-out"],
    taskRunName: (region: Region) => `fetch_region-${region}`,
  },
  async (region: Region): Promise<RegionTotals> => {
    await delay(30, getRunContext().signal);
    const rand = seededRandom(`region:${region}`);
    const orders = 100 + Math.floor(rand() * 900);
    return { region, orders, revenueCents: orders * (2_000 + Math.floor(rand() * 8_000)) };
  },
);

export const rankRegions = task({ name: "rank_regions" }, (totals: RegionTotals[]): RegionTotals[] => {
  const ranked = [...totals].sort((a, b) => b.revenueCents - a.revenueCents);
  createTableArtifact(
    ranked.map((t, i) => ({
      rank: i + 1,
      region: t.region,
      orders: t.orders,
      revenue: (t.revenueCents / 100).toFixed(2),
    })),
    { key: "regional-ranking", description: "Regions by revenue" },
  );
  return ranked;
});

export const regional_sales = flow(
  {
    name: "regional_sales",
    description: "Fetch every region's totals in parallel and rank them.",
    logPrints: true,
    tags: ["fan-out"],
    parameters: z.object({
      /** Regions fetched at once. */
      concurrency: z.number().int().min(1).max(REGIONS.length).default(3),
    }),
  },
  async ({ concurrency }) => {
    const totals = await fetchRegion.map(REGIONS, { concurrency });
    const ranking = rankRegions.submit(totals);
    getRunLogger().info(
      "fetched %d regions, %d orders in total",
      totals.length,
      totals.reduce((n, t) => n + t.orders, 0),
    );
    const ranked = await ranking.result();
    console.log(`top region: ${ranked[0]?.region}`);
    return ranked;
  },
);

if (isMainModule(import.meta.url)) {
  const ranked = await regional_sales();
  console.log(ranked.map((r) => `${r.region}: ${r.orders} orders`).join("\n"));
}
