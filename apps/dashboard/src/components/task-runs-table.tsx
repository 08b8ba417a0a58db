// The timeline's task runs as a paged table: the accessible (and sortable-by-start) view of the
// same data, for keyboard and screen-reader users and for copying names. Its "Inputs" column shows
// the dependency edges: which task runs' futures fed each run (as arguments or in waitFor).
import { useMemo, useState } from "react";
import type { TaskRunRow } from "../api/client.ts";
import { formatDuration, formatFullTime, formatTime, runDurationMs } from "../lib/format.ts";
import { useNow } from "../lib/hooks.ts";
import { STATE_LABELS, STATE_TYPES } from "../lib/states.ts";
import { Link } from "../router.tsx";
import { DataTable, type Column } from "./data-table.tsx";
import { SelectField, StateBadge } from "./ui.tsx";
import "./logs.css";

const PAGE = 100;

export function TaskRunsTable({ rows }: { rows: readonly TaskRunRow[] }) {
  const [state, setState] = useState("");
  const [page, setPage] = useState(0);
  const now = useNow(
    1000,
    rows.some((r) => r.startTime && !r.endTime),
  );
  const sorted = useMemo(() => {
    const filtered = state ? rows.filter((r) => r.stateType === state) : rows.slice();
    return filtered.sort((a, b) => Date.parse(a.startTime ?? a.createdAt) - Date.parse(b.startTime ?? b.createdAt));
  }, [rows, state]);
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE));
  const current = Math.min(page, pages - 1);
  const shown = sorted.slice(current * PAGE, current * PAGE + PAGE);
  const namesById = useMemo(() => new Map(rows.map((r) => [r.id, r.name])), [rows]);
  if (rows.length === 0) return <p className="muted">No task runs yet.</p>;
  const columns: Column<TaskRunRow>[] = [
    {
      header: "Task run",
      cell: (r) =>
        r.subflowRunId ? (
          <Link to={`/runs/${r.subflowRunId}`} title="Open the sub-flow run">
            ⤷ {r.name}
          </Link>
        ) : (
          r.name
        ),
    },
    { header: "State", cell: (r) => <StateBadge type={r.stateType} name={r.stateName} /> },
    {
      header: "Inputs",
      testId: "task-run-inputs",
      cell: (r) =>
        r.inputTaskRunIds.length === 0 ? (
          <span className="muted">—</span>
        ) : (
          // An upstream run of another flow run (a future passed across flows) has no row here, so
          // it shows by id.
          r.inputTaskRunIds.map((id) => namesById.get(id) ?? id.slice(0, 8)).join(", ")
        ),
    },
    { header: "Attempts", className: "num", cell: (r) => r.runCount },
    {
      header: "Started",
      className: "hide-sm",
      cell: (r) => <span title={formatFullTime(r.startTime)}>{formatTime(r.startTime)}</span>,
    },
    { header: "Duration", className: "num", cell: (r) => formatDuration(runDurationMs(r, now)) },
  ];
  return (
    <div>
      <div className="logs-toolbar">
        <SelectField
          label="State"
          inline
          value={state}
          options={[
            { value: "", label: "All states" },
            ...STATE_TYPES.map((s) => ({ value: s, label: STATE_LABELS[s] })),
          ]}
          onChange={(value) => {
            setState(value);
            setPage(0);
          }}
        />
        <span className="muted small">
          {sorted.length} task run{sorted.length === 1 ? "" : "s"}
        </span>
      </div>
      <DataTable rows={shown} columns={columns} rowKey={(r) => r.id} compact testId="task-runs-table" />
      {pages > 1 ? (
        <nav className="pager" aria-label="Task run pages">
          <button type="button" className="button small" disabled={current === 0} onClick={() => setPage(current - 1)}>
            ← Previous
          </button>
          <span className="muted small">
            Page {current + 1} of {pages}
          </span>
          <button
            type="button"
            className="button small"
            disabled={current >= pages - 1}
            onClick={() => setPage(current + 1)}
          >
            Next →
          </button>
        </nav>
      ) : null}
    </div>
  );
}
