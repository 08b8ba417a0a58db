// Every example flow, for code that wants them as a package (`@flowplane/examples`). Deployments
// point at the individual files instead (see flowplane.yaml).
export { hello } from "./hello.ts";
export { daily_etl, fetchApi, validate, loadWarehouse, notify, dailyEtlParameters } from "./daily-etl.ts";
export { nightly_warehouse, refresh_marts, MARTS, SOURCES } from "./warehouse.ts";
export { regional_sales, REGIONS, type Region, type RegionTotals } from "./regional.ts";
export { orders_pipeline, runChecks, type QualityCheck } from "./orders.ts";
