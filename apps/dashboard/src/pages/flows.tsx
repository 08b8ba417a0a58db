import { useQuery } from "@tanstack/react-query";
import type { Deployment } from "../api/client.ts";
import { useTRPC } from "../api/provider.tsx";
import { DataTable } from "../components/data-table.tsx";
import { Command, EmptyState, PageHeader, QueryList, RelativeTime, Tags } from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import { scheduleInWords } from "../lib/schedules.ts";
import { Link } from "../router.tsx";

export function FlowsPage() {
  useDocumentTitle("Flows");
  const trpc = useTRPC();
  const flows = useQuery(trpc.flows.list.queryOptions());
  const deployments = useQuery(trpc.deployments.list.queryOptions());
  const byFlow = new Map<string, Deployment[]>();
  for (const d of deployments.data ?? []) byFlow.set(d.flowName, [...(byFlow.get(d.flowName) ?? []), d]);

  return (
    <>
      <PageHeader title="Flows" subtitle="Every flow that has run or been deployed in this workspace." />
      <QueryList
        query={flows}
        lines={6}
        empty={
          <EmptyState title="No flows yet">
            <p>
              A flow is an async function wrapped with <code>flow()</code> from <code>@flowplane/sdk</code>. It appears
              here the first time it runs against this server or is deployed:
            </p>
            <Command>pnpm flowplane deploy examples/hello.ts:hello --name hello --pool local</Command>
          </EmptyState>
        }
      >
        {(rows) => (
          <div className="card">
            <DataTable
              rows={rows}
              rowKey={(f) => f.id}
              testId="flows-table"
              columns={[
                {
                  header: "Flow",
                  cell: (f) => (
                    <Link to={`/runs?flow=${encodeURIComponent(f.name)}`} title={`Runs of ${f.name}`}>
                      {f.name}
                    </Link>
                  ),
                },
                { header: "Deployments", cell: (f) => <FlowDeployments deployments={byFlow.get(f.name) ?? []} /> },
                { header: "Tags", className: "hide-sm", cell: (f) => <Tags tags={f.tags} /> },
                { header: "Created", className: "hide-sm", cell: (f) => <RelativeTime iso={f.createdAt} /> },
              ]}
            />
          </div>
        )}
      </QueryList>
    </>
  );
}

function FlowDeployments({ deployments }: { deployments: readonly Deployment[] }) {
  if (deployments.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="plain-list compact">
      {deployments.map((d) => (
        <li key={d.id}>
          <Link to={`/deployments/${d.id}`}>{d.name}</Link>
          <span className="muted small">
            {" "}
            · {d.schedules[0] ? scheduleInWords(d.schedules[0]) : "on demand"}
            {d.paused ? " · paused" : ""}
          </span>
        </li>
      ))}
    </ul>
  );
}
