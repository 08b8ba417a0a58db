// A parent flow with a sub-flow: nightly_warehouse ingests the sources, then calls refresh_marts,
// which is a flow of its own — its own run (linked to the parent's task run), its own retries and
// timeout. When a mart build hits a transient warehouse error, only refresh_marts is retried.
//
//   npx tsx examples/warehouse.ts              # ingest, then refresh the marts
//   npx tsx examples/warehouse.ts --fail       # refresh_marts fails once and is retried
import { flow, getRunContext, getRunLogger, task } from "@flowplane/sdk";
import { z } from "zod";
import { delay, isMainModule, seededRandom } from "./lib/simulate.ts";

export const SOURCES = ["crm", "billing", "web_events"] as const;
export const MARTS = ["finance", "marketing", "product"] as const;

export interface MartBuild {
  mart: string;
  models: number;
  rows: number;
}

export const ingestSource = task(
  {
    name: "ingest_source",
    retries: 2,
    retryDelaySeconds: 1,
    tags: ["ingest"],
    taskRunName: (source: string) => `ingest_source-${source}`,
  },
  async (source: string): Promise<{ source: string; rows: number }> => {
    await delay(20);
    const rows = 1_000 + Math.floor(seededRandom(`source:${source}`)() * 9_000);
    getRunLogger().info("copied %d rows from %s", rows, source);
    return { source, rows };
  },
);

export const buildMart = task(
  {
    name: "build_mart",
    retries: 1,
    retryDelaySeconds: 1,
    timeoutSeconds: 300,
    tags: ["dbt"],
    taskRunName: (mart: string) => `build_mart-${mart}`,
  },
  async (mart: string): Promise<MartBuild> => {
    await delay(20);
    const rand = seededRandom(`mart:${mart}`);
    return { mart, models: 3 + Math.floor(rand() * 10), rows: Math.floor(rand() * 100_000) };
  },
);

export interface RefreshMartsInput {
  marts: string[];
  /** Simulate a warehouse lock timeout on the first attempt, so the sub-flow's retry shows. */
  failFirstAttempt?: boolean;
}

export const refresh_marts = flow(
  {
    name: "refresh_marts",
    description: "Rebuild the reporting marts.",
    retries: 2,
    retryDelaySeconds: 1,
    timeoutSeconds: 900,
    tags: ["marts"],
  },
  async (input: RefreshMartsInput): Promise<MartBuild[]> => {
    const { attempt } = getRunContext();
    if (input.failFirstAttempt && attempt === 1) {
      throw new Error("could not obtain lock on relation marts.finance (simulated)");
    }
    const built = await buildMart.map(input.marts);
    getRunLogger().info("refreshed %d marts (attempt %d)", built.length, attempt);
    return built;
  },
);

export const nightly_warehouse = flow(
  {
    name: "nightly_warehouse",
    description: "Ingest the source systems, then refresh the marts in a sub-flow.",
    logPrints: true,
    tags: ["warehouse"],
    parameters: z.object({
      marts: z
        .array(z.enum(MARTS))
        .min(1)
        .default([...MARTS]),
      /** Make refresh_marts fail once (it retries on its own). */
      failMartsOnce: z.boolean().default(false),
    }),
  },
  async ({ marts, failMartsOnce }) => {
    const ingested = await ingestSource.map(SOURCES);
    const rows = ingested.reduce((sum, s) => sum + s.rows, 0);
    console.log(`ingested ${rows} rows from ${ingested.length} sources`);
    const built = await refresh_marts({ marts, failFirstAttempt: failMartsOnce });
    return { ingestedRows: rows, marts: built };
  },
);

if (isMainModule(import.meta.url)) {
  console.log(await nightly_warehouse({ failMartsOnce: process.argv.includes("--fail") }));
}
