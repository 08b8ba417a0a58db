// Run detail: state, timeline, logs, history, parameters and artifacts — all live while the run
// executes — with cancel and retry.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { errorMessage, isForbidden } from "../api/client.ts";
import { useTRPC, useTRPCClient } from "../api/provider.tsx";
import { ArtifactList } from "../components/artifacts.tsx";
import { ConfirmDialog } from "../components/confirm.tsx";
import { DataTable } from "../components/data-table.tsx";
import { LogsPanel } from "../components/logs.tsx";
import { TaskRunsTable } from "../components/task-runs-table.tsx";
import { EmptyState, ErrorNote, PageHeader, Skeleton, StateBadge, Tags, Toast } from "../components/ui.tsx";
import { formatDuration, formatFullTime, formatTime, runDurationMs, shortId } from "../lib/format.ts";
import { useDocumentTitle, useNow } from "../lib/hooks.ts";
import { STATE_LABELS, isStateType, isTerminalState } from "../lib/states.ts";
import { Link } from "../router.tsx";
import { Timeline } from "../timeline/timeline.tsx";
import "./run.css";

type Tab = "logs" | "tasks" | "history" | "parameters" | "artifacts";
const TABS: { key: Tab; label: string }[] = [
  { key: "logs", label: "Logs" },
  { key: "tasks", label: "Task runs" },
  { key: "history", label: "State history" },
  { key: "parameters", label: "Parameters" },
  { key: "artifacts", label: "Artifacts" },
];
const TASK_PAGE = 20_000;

export function RunPage({ id }: { id: string }) {
  const trpc = useTRPC();
  const api = useTRPCClient();
  const run = useQuery(trpc.flowRuns.get.queryOptions({ id }));
  // Every page of the run's task runs under the procedure's own key, so the live events' filter
  // for taskRuns.list reaches it (spread: the cached value is the pages joined, not one page).
  const taskRuns = useQuery({
    queryKey: [...trpc.taskRuns.list.queryKey({ flowRunId: id })],
    queryFn: async () => {
      const rows = [];
      let after: string | undefined;
      for (;;) {
        const page = await api.taskRuns.list.query({ flowRunId: id, limit: TASK_PAGE, ...(after ? { after } : {}) });
        rows.push(...page);
        if (page.length < TASK_PAGE) break;
        after = page[page.length - 1]!.id;
      }
      // When the rows arrived, for the timeline's render measurement (data → canvas drawn).
      return { rows, receivedAt: performance.now() };
    },
    staleTime: 0,
  });
  const history = useQuery(trpc.flowRuns.history.queryOptions({ id }));
  const artifacts = useQuery(trpc.artifacts.list.queryOptions({ flowRunId: id, limit: 500 }));
  const [tab, setTab] = useState<Tab>("logs");
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [toast, setToast] = useState<string | null>(null);
  const r = run.data;
  useDocumentTitle(r ? `${r.name} (${r.state.name})` : "Run");
  const live = r ? !isTerminalState(r.state.type) : false;
  const now = useNow(1000, live);

  const cancel = useMutation(
    trpc.flowRuns.cancel.mutationOptions({
      onSuccess: (res) => {
        setConfirmCancel(false);
        setToast(
          res.decision === "ACCEPT"
            ? res.state.type === "CANCELLED"
              ? "Run cancelled."
              : "Cancellation requested; the worker is stopping the run."
            : `Not cancelled: ${res.reason ?? res.state.name}`,
        );
        void run.refetch();
      },
      onError: (err) => {
        setConfirmCancel(false);
        setToast(`Cancel failed: ${errorMessage(err)}`);
      },
    }),
  );
  const retry = useMutation(
    trpc.flowRuns.retry.mutationOptions({
      onSuccess: (res) => {
        setToast(
          res.decision === "ACCEPT"
            ? "Retry scheduled; a worker will pick it up."
            : `Not retried: ${res.reason ?? res.state.name}`,
        );
        void run.refetch();
      },
      onError: (err) => setToast(`Retry failed: ${errorMessage(err)}`),
    }),
  );

  // Announce state changes to screen readers (the badge itself changes silently).
  const [announce, setAnnounce] = useState("");
  const lastState = useRef<string | null>(null);
  useEffect(() => {
    if (!r) return;
    if (lastState.current && lastState.current !== r.state.name) setAnnounce(`Run is now ${r.state.name}`);
    lastState.current = r.state.name;
  }, [r]);

  const taskNames = useMemo(() => new Map((taskRuns.data?.rows ?? []).map((t) => [t.id, t.name])), [taskRuns.data]);

  if (run.isPending) return <Skeleton lines={10} />;
  if (run.error || !r)
    return (
      <>
        <PageHeader title="Run" />
        <ErrorNote error={run.error} title="This run could not be loaded" />
        <p>
          <Link to="/runs">Back to runs</Link>
        </p>
      </>
    );

  const canCancel = !isTerminalState(r.state.type) && r.state.type !== "CANCELLING";
  const canRetry = isTerminalState(r.state.type);
  const duration = r.startTime ? runDurationMs(r, now) : null;

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/runs">Runs</Link> <span aria-hidden="true">/</span>{" "}
        <Link to={`/runs?flow=${encodeURIComponent(r.flowName)}`}>{r.flowName}</Link>
        {r.parentFlowRunId ? (
          <>
            {" "}
            <span aria-hidden="true">/</span> <Link to={`/runs/${r.parentFlowRunId}`}>parent run</Link>
          </>
        ) : null}
      </nav>
      <PageHeader
        title={
          <>
            <span data-testid="run-name">{r.name}</span>{" "}
            <span data-testid="run-state">{<StateBadge type={r.state.type} name={r.state.name} />}</span>
          </>
        }
        subtitle={
          <>
            {r.flowName}
            {r.deploymentName ? (
              <>
                {" / "}
                <Link to={`/deployments/${r.deploymentId}`}>{r.deploymentName}</Link>
              </>
            ) : null}
            {r.state.message ? <span className="muted"> · {r.state.message}</span> : null}
          </>
        }
        actions={
          <>
            <button
              type="button"
              className="button danger-outline"
              disabled={!canCancel || cancel.isPending}
              onClick={() => setConfirmCancel(true)}
            >
              Cancel run
            </button>
            <button
              type="button"
              className="button"
              disabled={!canRetry || retry.isPending}
              onClick={() => retry.mutate({ id })}
            >
              {retry.isPending ? "Retrying…" : "Retry"}
            </button>
          </>
        }
      />
      <div className="visually-hidden" role="status" aria-live="polite">
        {announce}
      </div>

      <section className="card run-summary" aria-label="Run summary">
        <dl className="kv grid">
          <div>
            <dt>State</dt>
            <dd>
              {isStateType(r.state.type) ? STATE_LABELS[r.state.type] : r.state.type}
              {r.state.name !== (isStateType(r.state.type) ? STATE_LABELS[r.state.type] : "")
                ? ` (${r.state.name})`
                : ""}
            </dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd data-testid="run-duration">{formatDuration(duration)}</dd>
          </div>
          <div>
            <dt>{r.startTime ? "Started" : "Expected start"}</dt>
            <dd title={formatFullTime(r.startTime ?? r.expectedStartTime)}>
              {formatTime(r.startTime ?? r.expectedStartTime)}
            </dd>
          </div>
          <div>
            <dt>Ended</dt>
            <dd title={formatFullTime(r.endTime)}>{formatTime(r.endTime)}</dd>
          </div>
          <div>
            <dt>Attempts</dt>
            <dd>{r.runCount}</dd>
          </div>
          <div>
            <dt>Work pool</dt>
            <dd>
              {r.workPoolName ? (
                <Link to={`/work-pools/${encodeURIComponent(r.workPoolName)}`}>{r.workPoolName}</Link>
              ) : (
                "—"
              )}
            </dd>
          </div>
          <div>
            <dt>Worker</dt>
            <dd>{r.workerName ?? "—"}</dd>
          </div>
          <div>
            <dt>Version</dt>
            <dd>{r.deploymentVersion !== null ? `v${r.deploymentVersion}` : "—"}</dd>
          </div>
          <div>
            <dt>Code</dt>
            <dd data-testid="code-version">{r.codeVersion ?? "—"}</dd>
          </div>
          <div>
            <dt>Tags</dt>
            <dd>
              <Tags tags={r.tags} />
            </dd>
          </div>
          <div>
            <dt>Run ID</dt>
            <dd>
              <code title={r.id}>{shortId(r.id)}</code>
            </dd>
          </div>
        </dl>
      </section>

      <section className="card" aria-labelledby="timeline-heading">
        <div className="card-header">
          <h2 id="timeline-heading">Timeline</h2>
        </div>
        {taskRuns.error ? <ErrorNote error={taskRuns.error} title="Task runs failed to load" /> : null}
        <Timeline
          run={r}
          rows={taskRuns.data?.rows ?? []}
          receivedAt={taskRuns.data?.receivedAt ?? null}
          loading={taskRuns.isPending}
        />
      </section>

      <section className="card tabs-card">
        <div role="tablist" aria-label="Run details" className="tabs">
          {TABS.map((t) => (
            <button
              key={t.key}
              role="tab"
              type="button"
              id={`tab-${t.key}`}
              aria-selected={tab === t.key}
              aria-controls={`panel-${t.key}`}
              tabIndex={tab === t.key ? 0 : -1}
              onClick={() => setTab(t.key)}
              onKeyDown={(e) => {
                const i = TABS.findIndex((x) => x.key === tab);
                const next =
                  e.key === "ArrowRight"
                    ? TABS[(i + 1) % TABS.length]
                    : e.key === "ArrowLeft"
                      ? TABS[(i + TABS.length - 1) % TABS.length]
                      : null;
                if (next) {
                  e.preventDefault();
                  setTab(next.key);
                  document.getElementById(`tab-${next.key}`)?.focus();
                }
              }}
            >
              {t.label}
              {t.key === "artifacts" && artifacts.data?.length ? (
                <span className="count">{artifacts.data.length}</span>
              ) : null}
              {t.key === "tasks" && taskRuns.data?.rows.length ? (
                <span className="count">{taskRuns.data.rows.length}</span>
              ) : null}
              {t.key === "history" && history.data?.length ? (
                <span className="count">{history.data.length}</span>
              ) : null}
            </button>
          ))}
        </div>
        <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tab-panel">
          {tab === "logs" ? <LogsPanel flowRunId={id} taskNames={taskNames} live={live} /> : null}
          {tab === "history" ? (
            history.data ? (
              <ol className="history" data-testid="state-history">
                {history.data.map((s, i) => {
                  const next = history.data[i + 1];
                  return (
                    <li key={s.id}>
                      <StateBadge type={s.type} name={s.name} />
                      <time dateTime={s.timestamp} title={formatFullTime(s.timestamp)}>
                        {formatTime(s.timestamp)}
                      </time>
                      <span className="muted small">
                        {next ? `for ${formatDuration(Date.parse(next.timestamp) - Date.parse(s.timestamp))}` : ""}
                      </span>
                      {s.message ? <span className="history-message">{s.message}</span> : null}
                    </li>
                  );
                })}
              </ol>
            ) : history.error ? (
              <ErrorNote error={history.error} />
            ) : (
              <Skeleton />
            )
          ) : null}
          {tab === "tasks" ? <TaskRunsTable rows={taskRuns.data?.rows ?? []} /> : null}
          {tab === "parameters" ? <Parameters parameters={r.parameters} /> : null}
          {tab === "artifacts" ? (
            artifacts.data ? (
              artifacts.data.length ? (
                <ArtifactList artifacts={artifacts.data} taskNames={taskNames} />
              ) : (
                <EmptyState title="No artifacts">
                  <p>
                    Flows publish reports here with <code>createMarkdownArtifact</code>,{" "}
                    <code>createTableArtifact</code> or <code>createLinkArtifact</code> from <code>@flowplane/sdk</code>
                    .
                  </p>
                </EmptyState>
              )
            ) : artifacts.error ? (
              <ErrorNote error={artifacts.error} />
            ) : (
              <Skeleton />
            )
          ) : null}
        </div>
      </section>

      <ConfirmDialog
        open={confirmCancel}
        title={`Cancel ${r.name}?`}
        confirmLabel="Cancel run"
        danger
        busy={cancel.isPending}
        onConfirm={() => cancel.mutate({ id })}
        onCancel={() => setConfirmCancel(false)}
      >
        <p>
          {r.startTime
            ? "The worker stops the run's infrastructure; the run ends Cancelled."
            : "The run has not started; it ends Cancelled at once."}
        </p>
      </ConfirmDialog>
      <Toast message={toast} onDone={() => setToast(null)} />
      {cancel.error && isForbidden(cancel.error) ? (
        <p className="muted small">Your key's scope cannot cancel runs.</p>
      ) : null}
    </>
  );
}

function Parameters({ parameters }: { parameters: Record<string, unknown> }) {
  const entries = Object.entries(parameters ?? {});
  if (entries.length === 0) return <p className="muted">This run has no parameters.</p>;
  return (
    <DataTable
      rows={entries}
      rowKey={([name]) => name}
      compact
      className="params"
      testId="parameters"
      columns={[
        { header: "Name", rowHeader: true, cell: ([name]) => <code>{name}</code> },
        {
          header: "Value",
          cell: ([, value]) => (
            <pre className="inline-json">
              {typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value, null, 2)}
            </pre>
          ),
        },
      ]}
    />
  );
}
