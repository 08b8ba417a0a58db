import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../api/provider.tsx";
import { Modal } from "../components/confirm.tsx";
import { RunForm } from "../components/run-form.tsx";
import { DataTable } from "../components/data-table.tsx";
import { RunsTable } from "../components/runs-table.tsx";
import { EmptyState, ErrorNote, PageHeader, RelativeTime, Section, Skeleton, Tags } from "../components/ui.tsx";
import { formatFullTime, formatTime } from "../lib/format.ts";
import { useDocumentTitle } from "../lib/hooks.ts";
import { scheduleInWords, upcomingSlots } from "../lib/schedules.ts";
import { Link } from "../router.tsx";
import { PauseToggle } from "./deployments.tsx";

export function DeploymentPage({ id }: { id: string }) {
  const trpc = useTRPC();
  const d = useQuery(trpc.deployments.get.queryOptions({ id }));
  const runs = useQuery(
    trpc.flowRuns.list.queryOptions({ deploymentId: id, limit: 10 }, { placeholderData: keepPreviousData }),
  );
  const [running, setRunning] = useState(false);
  useDocumentTitle(d.data ? d.data.qualifiedName : "Deployment");

  if (d.isPending) return <Skeleton lines={10} />;
  if (d.error || !d.data)
    return (
      <>
        <PageHeader title="Deployment" />
        <ErrorNote error={d.error} title="This deployment could not be loaded" />
      </>
    );
  const dep = d.data;
  const slots = dep.paused
    ? []
    : dep.schedules
        .filter((s) => s.active)
        .flatMap((s) => upcomingSlots(s, 5).map((t) => ({ t, s })))
        .sort((a, b) => a.t.getTime() - b.t.getTime())
        .slice(0, 5);

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/deployments">Deployments</Link> <span aria-hidden="true">/</span> {dep.flowName}
      </nav>
      <PageHeader
        title={dep.qualifiedName}
        subtitle={dep.description ?? <code>{dep.entrypoint}</code>}
        actions={
          <>
            <PauseToggle deployment={dep} />
            <button type="button" className="button primary" onClick={() => setRunning(true)}>
              Run now
            </button>
          </>
        }
      />
      <div className="grid-2">
        <Section title="Details">
          <dl className="kv">
            <dt>Entrypoint</dt>
            <dd>
              <code>{dep.entrypoint}</code>
            </dd>
            <dt>Work pool</dt>
            <dd>
              {dep.workPoolName ? (
                <Link to={`/work-pools/${encodeURIComponent(dep.workPoolName)}`}>{dep.workPoolName}</Link>
              ) : (
                "—"
              )}
              {dep.workQueueName ? <span className="muted"> · queue {dep.workQueueName}</span> : null}
            </dd>
            <dt>Code</dt>
            <dd data-testid="code-version">
              {dep.codeVersion ? <code>{dep.codeVersion}</code> : "in place (the deployer's directory)"}
            </dd>
            <dt>Concurrency</dt>
            <dd>
              {dep.concurrencyLimit
                ? `at most ${dep.concurrencyLimit} at once (${dep.collisionStrategy === "CANCEL_NEW" ? "extra runs are cancelled" : "extra runs wait"})`
                : "unlimited"}
            </dd>
            <dt>Tags</dt>
            <dd>
              <Tags tags={dep.tags} />
            </dd>
            <dt>Default parameters</dt>
            <dd>
              <pre className="inline-json">{JSON.stringify(dep.parameters, null, 2)}</pre>
            </dd>
          </dl>
        </Section>
        <Section title="Schedules">
          {dep.schedules.length === 0 ? (
            <p className="muted">
              Runs only on demand. Add a schedule with{" "}
              <code>
                pnpm flowplane deploy {dep.entrypoint} --name {dep.name} --cron "0 6 * * *"
              </code>
              .
            </p>
          ) : (
            <ul className="plain-list">
              {dep.schedules.map((s) => (
                <li key={s.id}>
                  <strong>{scheduleInWords(s)}</strong>
                  {!s.active ? <span className="muted"> (inactive)</span> : null}
                  <div className="muted small">
                    <code>
                      {s.kind === "cron" ? s.cron : s.kind === "interval" ? `every ${s.intervalSeconds} s` : s.rrule}
                    </code>{" "}
                    · {s.timezone}
                  </div>
                </li>
              ))}
            </ul>
          )}
          <h3>Next runs</h3>
          {dep.paused ? (
            <p className="muted">Paused: no runs are scheduled until it is resumed.</p>
          ) : dep.upcomingRuns.length === 0 && slots.length === 0 ? (
            <p className="muted">Nothing scheduled.</p>
          ) : (
            <ul className="plain-list">
              {dep.upcomingRuns.map((r) => (
                <li key={r.id}>
                  <Link to={`/runs/${r.id}`}>{r.name}</Link> <span className="muted">· {r.stateName} ·</span>{" "}
                  <time dateTime={r.nextScheduledTime ?? ""} title={formatFullTime(r.nextScheduledTime)}>
                    {formatTime(r.nextScheduledTime)}
                  </time>
                </li>
              ))}
              {dep.upcomingRuns.length === 0
                ? slots.map(({ t }) => (
                    <li key={t.toISOString()}>
                      <time dateTime={t.toISOString()} title={formatFullTime(t.toISOString())}>
                        {formatTime(t.toISOString())}
                      </time>{" "}
                      <span className="muted">
                        (<RelativeTime iso={t.toISOString()} />)
                      </span>
                    </li>
                  ))
                : null}
            </ul>
          )}
        </Section>
      </div>
      <Section title="Version history">
        {dep.versions.length === 0 ? (
          <p className="muted">No versions recorded.</p>
        ) : (
          <DataTable
            rows={dep.versions}
            rowKey={(v) => v.id}
            compact
            columns={[
              {
                header: "Version",
                cell: (v) => (
                  <>
                    v{v.version} {v.current ? <span className="status-pill active">current</span> : null}
                  </>
                ),
              },
              { header: "Content hash", cell: (v) => <code>{v.contentHash.slice(0, 12)}</code> },
              { header: "Deployed", cell: (v) => <RelativeTime iso={v.createdAt} /> },
            ]}
          />
        )}
      </Section>
      <Section
        title="Recent runs"
        actions={
          <Link to={`/runs?deployment=${dep.id}&flow=${encodeURIComponent(dep.flowName)}`}>
            All runs of this deployment →
          </Link>
        }
      >
        {runs.data && runs.data.items.length > 0 ? (
          <RunsTable runs={runs.data.items} caption={`Recent runs of ${dep.qualifiedName}`} />
        ) : runs.isPending ? (
          <Skeleton />
        ) : (
          <EmptyState title="No runs yet">
            <p>Press “Run now”, or from a terminal:</p>
            <code>pnpm flowplane deployment run {dep.qualifiedName} --watch</code>
          </EmptyState>
        )}
      </Section>
      <Modal
        open={running}
        title={`Run ${dep.qualifiedName}`}
        labelId="run-now-title"
        onClose={() => setRunning(false)}
      >
        <RunForm deployment={dep} onDone={() => setRunning(false)} />
      </Modal>
    </>
  );
}
