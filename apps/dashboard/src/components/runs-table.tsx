// The flow-runs table, shared by the runs page, a deployment's page and a pool's page.
import type { FlowRun } from "../api/client.ts";
import { formatDuration, formatFullTime, formatTime, runDurationMs } from "../lib/format.ts";
import { useNow } from "../lib/hooks.ts";
import { isTerminalState } from "../lib/states.ts";
import { Link } from "../router.tsx";
import { StateBadge, Tags } from "./ui.tsx";

export function RunsTable({ runs, caption, busy }: { runs: readonly FlowRun[]; caption: string; busy?: boolean }) {
  const live = runs.some((r) => r.startTime && !isTerminalState(r.state.type));
  const now = useNow(1000, live);
  return (
    <div className="table-wrap">
      <table className="table runs-table" aria-busy={busy || undefined} data-testid="runs-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">State</th>
            <th scope="col">Run</th>
            <th scope="col">Flow / deployment</th>
            <th scope="col" className="hide-sm">
              Start
            </th>
            <th scope="col" className="num">
              Duration
            </th>
            <th scope="col" className="hide-md">
              Tags
            </th>
            <th scope="col" className="hide-md">
              Work pool
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => {
            const start = r.startTime ?? r.expectedStartTime;
            return (
              <tr key={r.id} data-run-id={r.id} data-state={r.state.type}>
                <td>
                  <StateBadge type={r.state.type} name={r.state.name} />
                </td>
                <td>
                  <Link to={`/runs/${r.id}`} className="run-link">
                    {r.name}
                  </Link>
                  {r.runCount > 1 ? (
                    <span className="attempts" title={`${r.runCount} attempts`}>
                      ↻{r.runCount}
                    </span>
                  ) : null}
                </td>
                <td className="flow-cell">
                  <span>{r.flowName}</span>
                  {r.deploymentName ? <span className="muted"> / {r.deploymentName}</span> : null}
                </td>
                <td className="hide-sm nowrap">
                  <time
                    dateTime={start}
                    title={`${r.startTime ? "Started" : "Expected"} ${formatFullTime(start)}`}
                    className={r.startTime ? undefined : "muted"}
                  >
                    {formatTime(start)}
                  </time>
                </td>
                <td className="num nowrap">{formatDuration(r.startTime ? runDurationMs(r, now) : null)}</td>
                <td className="hide-md">
                  <Tags tags={r.tags} />
                </td>
                <td className="hide-md">{r.workPoolName ?? <span className="muted">—</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
