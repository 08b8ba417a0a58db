import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../api/provider.tsx";
import { Command, EmptyState, ErrorNote, PageHeader, RelativeTime, Skeleton, Tags } from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";
import { scheduleInWords } from "../lib/schedules.ts";
import { Link } from "../router.tsx";

export function FlowsPage() {
  useDocumentTitle("Flows");
  const trpc = useTRPC();
  const flows = useQuery(trpc.flows.list.queryOptions());
  const deployments = useQuery(trpc.deployments.list.queryOptions());
  const byFlow = new Map<string, NonNullable<typeof deployments.data>>();
  for (const d of deployments.data ?? []) byFlow.set(d.flowName, [...(byFlow.get(d.flowName) ?? []), d]);

  return (
    <>
      <PageHeader title="Flows" subtitle="Every flow that has run or been deployed in this workspace." />
      {flows.error ? <ErrorNote error={flows.error} /> : null}
      {flows.isPending ? (
        <Skeleton lines={6} />
      ) : flows.data && flows.data.length === 0 ? (
        <EmptyState title="No flows yet">
          <p>
            A flow is an async function wrapped with <code>flow()</code> from <code>@flowplane/sdk</code>. It appears
            here the first time it runs against this server or is deployed:
          </p>
          <Command>pnpm flowplane deploy examples/hello.ts:hello --name hello --pool local</Command>
        </EmptyState>
      ) : (
        <div className="card">
          <div className="table-wrap">
            <table className="table" data-testid="flows-table">
              <thead>
                <tr>
                  <th scope="col">Flow</th>
                  <th scope="col">Deployments</th>
                  <th scope="col" className="hide-sm">
                    Tags
                  </th>
                  <th scope="col" className="hide-sm">
                    Created
                  </th>
                </tr>
              </thead>
              <tbody>
                {(flows.data ?? []).map((f) => (
                  <tr key={f.id}>
                    <td>
                      <Link to={`/runs?flow=${encodeURIComponent(f.name)}`} title={`Runs of ${f.name}`}>
                        {f.name}
                      </Link>
                    </td>
                    <td>
                      {(byFlow.get(f.name) ?? []).length === 0 ? (
                        <span className="muted">none</span>
                      ) : (
                        <ul className="plain-list compact">
                          {(byFlow.get(f.name) ?? []).map((d) => (
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
                      )}
                    </td>
                    <td className="hide-sm">
                      <Tags tags={f.tags} />
                    </td>
                    <td className="hide-sm">
                      <RelativeTime iso={f.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </>
  );
}
