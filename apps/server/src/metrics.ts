// Prometheus metrics at /metrics: request counts and latencies per tRPC procedure, the DB pool,
// and the process defaults. Route labels come from a closed set (the router's procedures and the
// server's own paths), so no request can add a time series: anything else is counted as "other".
import client from "prom-client";
import type { Database } from "@flowplane/db";

export class ServerMetrics {
  readonly registry = new client.Registry();
  private readonly requests = new client.Counter({
    name: "flowplane_http_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
  });
  private readonly latency = new client.Histogram({
    name: "flowplane_http_request_duration_seconds",
    help: "HTTP request latency by route",
    labelNames: ["route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
    registers: [this.registry],
  });

  private readonly procedures: ReadonlySet<string>;

  constructor(pool: Database["pool"], procedures: Iterable<string>) {
    this.procedures = new Set(procedures);
    client.collectDefaultMetrics({ register: this.registry, prefix: "flowplane_" });
    const poolGauges: [name: string, help: string, read: () => number][] = [
      ["flowplane_db_pool_connections", "Connections in the DB pool", () => pool.totalCount],
      ["flowplane_db_pool_idle", "Idle connections in the DB pool", () => pool.idleCount],
      ["flowplane_db_pool_waiting", "Queries waiting for a DB connection", () => pool.waitingCount],
    ];
    for (const [name, help, read] of poolGauges) {
      new client.Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    }
  }

  /** The label for a request path: a procedure name, "batch", one of the fixed paths, or "other". */
  routeLabel(pathname: string): string {
    if (pathname.startsWith("/trpc/")) {
      const names = pathname.slice("/trpc/".length).split(",");
      if (!names.every((name) => this.procedures.has(name))) return "other";
      return names.length === 1 ? names[0]! : "batch";
    }
    if (pathname === "/health" || pathname === "/metrics" || pathname === "/trpc-ws") return pathname;
    if (pathname.startsWith("/assets/")) return "/assets";
    return "/";
  }

  observe(route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }
}
