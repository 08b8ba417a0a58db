import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { WorkPool } from "../api/client.ts";
import { useTRPC } from "../api/provider.tsx";
import { Command, EmptyState, PageHeader, PauseButton, QueryList, Stats } from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import { Link } from "../router.tsx";
import "./work-pools.css";

export function WorkPoolsPage() {
  useDocumentTitle("Work pools");
  const trpc = useTRPC();
  const pools = useQuery(trpc.workPools.list.queryOptions());
  return (
    <>
      <PageHeader
        title="Work pools"
        subtitle="Where runs execute. Workers in your network poll a pool and launch its runs."
      />
      <QueryList
        query={pools}
        lines={6}
        empty={
          <EmptyState title="No work pools yet">
            <p>Create a pool, then start a worker for it on any machine that can reach this server:</p>
            <Command>pnpm flowplane work-pool create local --type process</Command>
            <Command>pnpm flowplane worker start --pool local</Command>
            <p className="muted small">Other types: docker, ecs, kubernetes.</p>
          </EmptyState>
        }
      >
        {(rows) => (
          <div className="pool-grid">
            {rows.map((p) => (
              <PoolCard key={p.id} pool={p} />
            ))}
          </div>
        )}
      </QueryList>
    </>
  );
}

export function ConcurrencyMeter({ active, limit }: { active: number; limit: number | null }) {
  const pct = limit ? Math.min(100, (active / Math.max(1, limit)) * 100) : 0;
  return (
    <div className="meter">
      <span className="muted">Concurrency</span>
      {limit !== null ? (
        <>
          <div
            className="meter-bar"
            role="meter"
            aria-valuemin={0}
            aria-valuemax={limit}
            aria-valuenow={active}
            aria-label="Concurrency slots in use"
          >
            <div style={{ width: `${pct}%` }} />
          </div>
          <span>
            {active} / {limit} slots in use
          </span>
        </>
      ) : (
        <span>{active} running · no limit</span>
      )}
    </div>
  );
}

export function PoolPauseButton({ pool }: { pool: Pick<WorkPool, "name" | "paused"> }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toggle = useMutation(
    trpc.workPools.update.mutationOptions({ onSuccess: () => qc.invalidateQueries(trpc.workPools.pathFilter()) }),
  );
  return (
    <PauseButton
      paused={pool.paused}
      subject={`work pool ${pool.name}`}
      busy={toggle.isPending}
      error={toggle.error}
      onToggle={() => toggle.mutate({ name: pool.name, paused: !pool.paused })}
    />
  );
}

function PoolCard({ pool: p }: { pool: WorkPool }) {
  return (
    <article className="card pool-card" aria-labelledby={`pool-${p.id}`} data-pool={p.name}>
      <div className="card-header">
        <h2 id={`pool-${p.id}`}>
          <Link to={`/work-pools/${encodeURIComponent(p.name)}`}>{p.name}</Link> <span className="tag">{p.type}</span>
        </h2>
        <span className={`status-pill ${p.paused ? "paused" : p.workersOnline > 0 ? "active" : "idle"}`}>
          {p.paused ? "Paused" : p.workersOnline > 0 ? "Ready" : "No workers"}
        </span>
      </div>
      <Stats
        items={[
          { label: "Queue depth", value: p.queueDepth },
          { label: "Late", value: p.lateRuns, warn: p.lateRuns > 0 },
          { label: "Workers online", value: `${p.workersOnline} / ${p.workers}` },
        ]}
      />
      <ConcurrencyMeter active={p.activeRuns} limit={p.concurrencyLimit} />
      {p.workersOnline === 0 && !p.paused ? (
        <p className="muted small">
          Start a worker: <code>pnpm flowplane worker start --pool {p.name}</code>
        </p>
      ) : null}
      <div className="card-actions">
        <PoolPauseButton pool={p} />
        <Link to={`/work-pools/${encodeURIComponent(p.name)}`} className="button small ghost">
          Workers and queues
        </Link>
      </div>
    </article>
  );
}
