// The flow-runs table, shared by the runs page, a deployment's page and a pool's page.
import type { FlowRun } from "../api/client.ts";
import { formatDuration, formatFullTime, formatTime, runDurationMs } from "../lib/format.ts";
import { useNow } from "../lib/hooks.ts";
import { isTerminalState } from "../lib/states.ts";
import { Link } from "../router.tsx";
import { DataTable, type Column } from "./data-table.tsx";
import { StateBadge, Tags } from "./ui.tsx";

export function RunsTable({ runs, caption, busy }: { runs: readonly FlowRun[]; caption: string; busy?: boolean }) {
  const live = runs.some((r) => r.startTime && !isTerminalState(r.state.type));
  const now = useNow(1000, live);
  const columns: Column<FlowRun>[] = [
    { header: "State", cell: (r) => <StateBadge type={r.state.type} name={r.state.name} /> },
    {
      header: "Run",
      cell: (r) => (
        <>
          <Link to={`/runs/${r.id}`} className="run-link">
            {r.name}
          </Link>
          {r.runCount > 1 ? (
            <span className="attempts" title={`${r.runCount} attempts`}>
              ↻{r.runCount}
            </span>
          ) : null}
        </>
      ),
    },
    {
      header: "Flow / deployment",
      cellClassName: "flow-cell",
      cell: (r) => (
        <>
          <span>{r.flowName}</span>
          {r.deploymentName ? <span className="muted"> / {r.deploymentName}</span> : null}
        </>
      ),
    },
    {
      header: "Start",
      className: "hide-sm",
      cellClassName: "nowrap",
      cell: (r) => {
        const start = r.startTime ?? r.expectedStartTime;
        return (
          <time
            dateTime={start}
            title={`${r.startTime ? "Started" : "Expected"} ${formatFullTime(start)}`}
            className={r.startTime ? undefined : "muted"}
          >
            {formatTime(start)}
          </time>
        );
      },
    },
    {
      header: "Duration",
      className: "num",
      cellClassName: "nowrap",
      cell: (r) => formatDuration(r.startTime ? runDurationMs(r, now) : null),
    },
    { header: "Tags", className: "hide-md", cell: (r) => <Tags tags={r.tags} /> },
    { header: "Work pool", className: "hide-md", cell: (r) => r.workPoolName ?? <span className="muted">—</span> },
  ];
  return (
    <DataTable
      rows={runs}
      columns={columns}
      rowKey={(r) => r.id}
      rowProps={(r) => ({ "data-run-id": r.id, "data-state": r.state.type })}
      caption={caption}
      className="runs-table"
      testId="runs-table"
      busy={busy}
    />
  );
}
