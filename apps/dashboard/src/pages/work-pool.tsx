import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTRPC } from "../api/provider.tsx";
import { DataTable } from "../components/data-table.tsx";
import { RunsTable } from "../components/runs-table.tsx";
import {
  Command,
  EmptyState,
  ErrorNote,
  PageHeader,
  RelativeTime,
  Section,
  Skeleton,
  Stats,
} from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import { Link } from "../router.tsx";
import { ConcurrencyMeter, PoolPauseButton } from "./work-pools.tsx";

export function WorkPoolPage({ name }: { name: string }) {
  useDocumentTitle(`Pool ${name}`);
  const trpc = useTRPC();
  const pool = useQuery(trpc.workPools.get.queryOptions({ name }));
  // Heartbeats do not raise events (they would flood the websocket), so worker health is polled.
  const workers = useQuery(trpc.workers.list.queryOptions({ workPoolName: name }, { refetchInterval: 5_000 }));
  const runs = useQuery(
    trpc.flowRuns.list.queryOptions({ workPoolName: name, limit: 10 }, { placeholderData: keepPreviousData }),
  );

  if (pool.isPending) return <Skeleton lines={10} />;
  if (pool.error || !pool.data)
    return (
      <>
        <PageHeader title={`Work pool ${name}`} />
        <ErrorNote error={pool.error} title="This pool could not be loaded" />
      </>
    );
  const p = pool.data;
  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/work-pools">Work pools</Link> <span aria-hidden="true">/</span> {p.name}
      </nav>
      <PageHeader
        title={
          <>
            {p.name} <span className="tag">{p.type}</span>{" "}
            <span className={`status-pill ${p.paused ? "paused" : "active"}`}>{p.paused ? "Paused" : "Ready"}</span>
          </>
        }
        subtitle={p.description ?? undefined}
        actions={<PoolPauseButton pool={p} />}
      />
      <section className="card" aria-label="Pool status">
        <Stats
          items={[
            { label: "Queue depth", value: p.queueDepth, testId: "queue-depth" },
            { label: "Late runs", value: p.lateRuns, warn: p.lateRuns > 0 },
            { label: "Active runs", value: p.activeRuns },
            { label: "Workers online", value: `${p.workersOnline} / ${p.workers}` },
          ]}
        />
        <ConcurrencyMeter active={p.activeRuns} limit={p.concurrencyLimit} />
      </section>
      <Section title="Workers">
        {workers.error ? <ErrorNote error={workers.error} /> : null}
        {workers.data && workers.data.length === 0 ? (
          <EmptyState title="No workers have connected">
            <p>Start one where the runs should execute:</p>
            <Command>{`pnpm flowplane worker start --pool ${p.name}`}</Command>
          </EmptyState>
        ) : (
          <DataTable
            rows={workers.data ?? []}
            rowKey={(w) => w.id}
            testId="workers-table"
            columns={[
              { header: "Worker", cell: (w) => w.name },
              {
                header: "Status",
                cell: (w) => (
                  <span className={`status-pill ${w.status === "ONLINE" ? "active" : "offline"}`}>
                    {w.status === "ONLINE" ? "Online" : "Offline"}
                  </span>
                ),
              },
              {
                header: "Last heartbeat",
                cell: (w) => (
                  <>
                    <RelativeTime iso={w.lastHeartbeatAt} />{" "}
                    <span className="muted small">(every {w.heartbeatIntervalSeconds} s)</span>
                  </>
                ),
              },
              { header: "Active runs", className: "num", cell: (w) => w.activeRuns },
              { header: "Since", className: "hide-sm", cell: (w) => <RelativeTime iso={w.createdAt} /> },
            ]}
          />
        )}
      </Section>
      <Section title="Queues">
        <DataTable
          rows={p.queues}
          rowKey={(q) => q.id}
          compact
          columns={[
            { header: "Queue", cell: (q) => q.name },
            { header: "Priority", cell: (q) => q.priority },
            { header: "Concurrency limit", cell: (q) => q.concurrencyLimit ?? "—" },
            { header: "Status", cell: (q) => (q.paused ? "Paused" : "Ready") },
          ]}
        />
      </Section>
      <Section title="Recent runs" actions={<Link to="/runs">All runs →</Link>}>
        {runs.data && runs.data.items.length > 0 ? (
          <RunsTable runs={runs.data.items} caption={`Recent runs in ${p.name}`} />
        ) : runs.isPending ? (
          <Skeleton />
        ) : (
          <p className="muted">No runs in this pool yet.</p>
        )}
      </Section>
    </>
  );
}
