import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { errorMessage, type WorkPool } from "../api/client.ts";
import { useTRPC } from "../api/provider.tsx";
import { Command, EmptyState, ErrorNote, PageHeader, Skeleton } from "../components/ui.tsx";
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
      {pools.error ? <ErrorNote error={pools.error} /> : null}
      {pools.isPending ? (
        <Skeleton lines={6} />
      ) : pools.data && pools.data.length === 0 ? (
        <EmptyState title="No work pools yet">
          <p>Create a pool, then start a worker for it on any machine that can reach this server:</p>
          <Command>pnpm flowplane work-pool create local --type process</Command>
          <Command>pnpm flowplane worker start --pool local</Command>
          <p className="muted small">Other types: docker, ecs, kubernetes.</p>
        </EmptyState>
      ) : (
        <div className="pool-grid">
          {(pools.data ?? []).map((p) => (
            <PoolCard key={p.id} pool={p} />
          ))}
        </div>
      )}
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
    <>
      <button
        type="button"
        className="button small"
        onClick={() => toggle.mutate({ name: pool.name, paused: !pool.paused })}
        disabled={toggle.isPending}
        aria-label={`${pool.paused ? "Resume" : "Pause"} work pool ${pool.name}`}
      >
        {pool.paused ? "Resume" : "Pause"}
      </button>
      {toggle.error ? (
        <span className="field-error" role="alert">
          {errorMessage(toggle.error)}
        </span>
      ) : null}
    </>
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
      <dl className="stats">
        <div>
          <dt>Queue depth</dt>
          <dd>{p.queueDepth}</dd>
        </div>
        <div>
          <dt>Late</dt>
          <dd className={p.lateRuns ? "warn" : undefined}>{p.lateRuns}</dd>
        </div>
        <div>
          <dt>Workers online</dt>
          <dd>
            {p.workersOnline} / {p.workers}
          </dd>
        </div>
      </dl>
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
