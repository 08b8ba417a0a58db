// Flows the dashboard's browser tests deploy: one that exercises everything the run page shows
// (retries, a fan-out, a sub-flow, logs at every level, artifacts), and one that sleeps so it can
// be cancelled while it runs.
import {
  createLinkArtifact,
  createMarkdownArtifact,
  createTableArtifact,
  flow,
  getRunLogger,
  task,
} from "@flowplane/sdk";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const attempts = new Map<string, number>();

/** Fails its first attempt for each source, then succeeds: the timeline shows the retry. */
const extract = task({ name: "extract", retries: 2, retryDelaySeconds: 0 }, async (source: string) => {
  const attempt = (attempts.get(source) ?? 0) + 1;
  attempts.set(source, attempt);
  await sleep(120);
  if (attempt === 1) throw new Error(`${source}: upstream timed out (attempt ${attempt})`);
  return source.length * 100;
});

const transform = task({ name: "transform" }, async (region: string) => {
  await sleep(80 + region.length * 40);
  return { region, total: region.length * 1000 };
});

const martTask = task({ name: "build_mart" }, async (mart: string) => {
  await sleep(100);
  return mart;
});

const refreshMarts = flow({ name: "refresh_marts" }, async (params: { rows: number }) => {
  getRunLogger().info(`refreshing marts for ${params.rows} rows`);
  await martTask.map(["orders_daily", "revenue_by_region"]);
  return params.rows;
});

export const showcase = flow({ name: "showcase", logPrints: true }, async (params: { regions?: string[] } = {}) => {
  const log = getRunLogger();
  const regions = params.regions ?? ["eu", "us", "apac", "latam"];
  log.debug("resolved configuration");
  const extracted = extract.submit("orders");
  const rows = await extracted.result();
  log.info(`extracted ${rows} rows`);
  // Each transform waits for the extract: the run page shows that edge in the task runs' Inputs.
  const totals = await transform.withOptions({ waitFor: [extracted] }).map(regions);
  log.warn("latency above target in apac");
  await refreshMarts({ rows });
  createMarkdownArtifact(
    [
      "# Daily report",
      "",
      `Extracted **${rows}** rows from *orders*.`,
      "",
      "| region | total |",
      "|---|---|",
      ...totals.map((t) => `| ${t.region} | ${t.total} |`),
      "",
      "See [the runbook](https://example.com/runbook).",
    ].join("\n"),
    { key: "daily-report" },
  );
  createTableArtifact(totals, { key: "totals" });
  createLinkArtifact("https://example.com/dashboards/orders", { linkText: "Orders dashboard" });
  log.error("one region reported late data (not fatal)");
  console.log("showcase finished");
  return totals.length;
});

/** Logs once a second for `seconds`. */
export const sleeper = flow({ name: "sleeper" }, async (params: { seconds?: number } = {}) => {
  const log = getRunLogger();
  for (let i = 0; i < (params.seconds ?? 60); i++) {
    log.info(`still sleeping (${i} s)`);
    await sleep(1000);
  }
});
