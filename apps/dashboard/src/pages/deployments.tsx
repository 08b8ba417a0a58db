import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Deployment } from "../api/client.ts";
import { useTRPC } from "../api/provider.tsx";
import { Modal } from "../components/confirm.tsx";
import { ACTIONS_HEADER, DataTable } from "../components/data-table.tsx";
import { RunForm } from "../components/run-form.tsx";
import { Command, EmptyState, PageHeader, PauseButton, QueryList, RelativeTime, Tags } from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import { scheduleInWords } from "../lib/schedules.ts";
import { Link } from "../router.tsx";
import "./deployments.css";

export function DeploymentsPage() {
  useDocumentTitle("Deployments");
  const trpc = useTRPC();
  const list = useQuery(trpc.deployments.list.queryOptions());
  const [running, setRunning] = useState<Deployment | null>(null);
  return (
    <>
      <PageHeader title="Deployments" subtitle="Flows registered to run on a work pool, on a schedule or on demand." />
      <QueryList query={list} lines={6} empty={<NoDeployments />}>
        {(rows) => (
          <div className="card">
            <DataTable
              rows={rows}
              rowKey={(d) => d.id}
              rowProps={(d) => ({ "data-deployment": d.qualifiedName })}
              testId="deployments-table"
              columns={[
                {
                  header: "Deployment",
                  cell: (d) => (
                    <Link to={`/deployments/${d.id}`}>
                      <span className="muted">{d.flowName} /</span> {d.name}
                    </Link>
                  ),
                },
                {
                  header: "Schedule",
                  cell: (d) =>
                    d.schedules.length ? (
                      d.schedules.map((s) => (
                        <div key={s.id} className={s.active ? undefined : "muted"}>
                          {scheduleInWords(s)}
                          {s.active ? "" : " (inactive)"}
                        </div>
                      ))
                    ) : (
                      <span className="muted">On demand</span>
                    ),
                },
                {
                  header: "Work pool",
                  className: "hide-sm",
                  cell: (d) =>
                    d.workPoolName ? (
                      <Link to={`/work-pools/${encodeURIComponent(d.workPoolName)}`}>{d.workPoolName}</Link>
                    ) : (
                      <span className="muted">—</span>
                    ),
                },
                { header: "Status", cell: (d) => <PauseToggle deployment={d} /> },
                { header: "Tags", className: "hide-md", cell: (d) => <Tags tags={d.tags} /> },
                { header: "Updated", className: "hide-md", cell: (d) => <RelativeTime iso={d.updatedAt} /> },
                {
                  header: ACTIONS_HEADER,
                  cellClassName: "actions",
                  cell: (d) => (
                    <button
                      type="button"
                      className="button small primary"
                      onClick={() => setRunning(d)}
                      aria-label={`Run ${d.qualifiedName} now`}
                    >
                      Run
                    </button>
                  ),
                },
              ]}
            />
          </div>
        )}
      </QueryList>
      <Modal
        open={running !== null}
        title={running ? `Run ${running.qualifiedName}` : "Run"}
        labelId="run-now-title"
        onClose={() => setRunning(null)}
      >
        {running ? <RunForm deployment={running} onDone={() => setRunning(null)} /> : null}
      </Modal>
    </>
  );
}

export function PauseToggle({ deployment }: { deployment: Deployment }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toggle = useMutation(
    trpc.deployments.setPaused.mutationOptions({
      onSuccess: () => qc.invalidateQueries(trpc.deployments.pathFilter()),
    }),
  );
  return (
    <span className="pause-toggle">
      <span className={`status-pill ${deployment.paused ? "paused" : "active"}`}>
        {deployment.paused ? "Paused" : "Active"}
      </span>
      <PauseButton
        paused={deployment.paused}
        subject={deployment.qualifiedName}
        busy={toggle.isPending}
        error={toggle.error}
        onToggle={() => toggle.mutate({ id: deployment.id, paused: !deployment.paused })}
        className="button small ghost"
      />
    </span>
  );
}

export function NoDeployments() {
  return (
    <EmptyState title="No deployments yet">
      <p>A deployment tells Flowplane where a flow's code is and which work pool runs it. From the repository root:</p>
      <Command>pnpm flowplane work-pool create local --type process</Command>
      <Command>pnpm flowplane deploy examples/hello.ts:hello --name hello --pool local</Command>
      <p>
        Add <code>--cron "0 6 * * *"</code> or <code>--interval 3600</code> to run it on a schedule, or deploy
        everything in <code>flowplane.yaml</code> with <code>pnpm flowplane deploy --all</code>.
      </p>
    </EmptyState>
  );
}
