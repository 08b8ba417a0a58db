// Runs over time, stacked by state: an SVG of fixed height (so the page never jumps while it
// loads), one column per bucket of flowRuns.counts. Clicking a column narrows the range to it.
import { useMemo, useState } from "react";
import type { Outputs } from "../api/client.ts";
import { formatShortTime } from "../lib/format.ts";
import { STATE_COLORS, STATE_LABELS, STATE_TYPES, isStateType, type StateType } from "../lib/states.ts";
import "./runs-chart.css";

type Counts = Outputs["flowRuns"]["counts"];

// Bottom to top: finished work first, then what is in flight, then what is still to come.
const STACK_ORDER: StateType[] = [
  "COMPLETED",
  "FAILED",
  "CRASHED",
  "CANCELLED",
  "CANCELLING",
  "RUNNING",
  "PAUSED",
  "PENDING",
  "SCHEDULED",
];

const HEIGHT = 140;
const PAD_TOP = 8;
const PAD_BOTTOM = 20;
const PAD_LEFT = 36;

export interface ChartColumn {
  index: number;
  start: number;
  end: number;
  total: number;
  byState: Partial<Record<StateType, number>>;
}

/**
 * Columns on the server's grid: it may snap a long window to whole hours (an earlier start, wider
 * buckets, one more bucket), so the answer's from, bucketMs and buckets are drawn, not the request's.
 * The last column ends at the window's end.
 */
export function chartColumns(counts: Counts): ChartColumn[] {
  const from = Date.parse(counts.from);
  const to = Date.parse(counts.to);
  const cols: ChartColumn[] = Array.from({ length: counts.buckets }, (_, i) => ({
    index: i,
    start: from + i * counts.bucketMs,
    end: Math.min(to, from + (i + 1) * counts.bucketMs),
    total: 0,
    byState: {},
  }));
  for (const row of counts.rows) {
    const col = cols[row.bucket];
    if (!col || !isStateType(row.stateType)) continue;
    col.byState[row.stateType] = (col.byState[row.stateType] ?? 0) + row.n;
    col.total += row.n;
  }
  return cols;
}

export function RunsChart({
  counts,
  buckets,
  caption,
  loading,
  onSelectRange,
  selectedStates,
  onToggleState,
}: {
  counts: Counts | undefined;
  buckets: number;
  caption: string;
  loading: boolean;
  onSelectRange: (from: number, to: number) => void;
  selectedStates: readonly string[];
  onToggleState: (state: StateType) => void;
}) {
  const [hover, setHover] = useState<ChartColumn | null>(null);
  const columns = useMemo(() => (counts ? chartColumns(counts) : []), [counts]);
  const totals = useMemo(() => {
    const t: Partial<Record<StateType, number>> = {};
    for (const c of columns)
      for (const [s, n] of Object.entries(c.byState)) t[s as StateType] = (t[s as StateType] ?? 0) + n;
    return t;
  }, [columns]);
  const max = Math.max(1, ...columns.map((c) => c.total));
  const niceMax = niceCeil(max);
  const width = 1000;
  const plotW = width - PAD_LEFT;
  const plotH = HEIGHT - PAD_TOP - PAD_BOTTOM;
  // Until the first answer arrives, the requested bucket count lays out the empty chart.
  const colW = plotW / Math.max(1, counts ? counts.buckets : buckets);
  const total = columns.reduce((a, c) => a + c.total, 0);
  const summary = counts
    ? `${total} runs, ${caption.toLowerCase()}: ${
        STATE_TYPES.filter((s) => totals[s])
          .map((s) => `${totals[s]} ${STATE_LABELS[s].toLowerCase()}`)
          .join(", ") || "none"
      }`
    : "Loading run counts";

  return (
    <figure className="runs-chart card" aria-busy={loading}>
      <figcaption className="chart-caption">
        <span>
          <strong>Runs over time</strong> <span className="muted">· {caption}</span>
        </span>
        <span className="chart-hover muted" aria-hidden="true">
          {hover
            ? `${formatShortTime(hover.start)} – ${formatShortTime(hover.end)}: ${hover.total} run${hover.total === 1 ? "" : "s"}`
            : " "}
        </span>
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${HEIGHT}`}
        preserveAspectRatio="none"
        className="chart-svg"
        role="img"
        aria-label={summary}
        onMouseLeave={() => setHover(null)}
      >
        {[0, 0.5, 1].map((f) => {
          const y = PAD_TOP + plotH * (1 - f);
          return (
            <g key={f}>
              <line x1={PAD_LEFT} x2={width} y1={y} y2={y} className="chart-grid" vectorEffect="non-scaling-stroke" />
            </g>
          );
        })}
        {columns.map((c) => {
          let y = PAD_TOP + plotH;
          const x = PAD_LEFT + c.index * colW;
          return (
            <g
              key={c.index}
              className="chart-col"
              onMouseEnter={() => setHover(c)}
              onClick={() => c.total > 0 && onSelectRange(c.start, c.end)}
              style={{ cursor: c.total > 0 ? "pointer" : "default" }}
            >
              <rect x={x} y={PAD_TOP} width={colW} height={plotH} fill="transparent" />
              {STACK_ORDER.map((s) => {
                const n = c.byState[s];
                if (!n) return null;
                const h = (n / niceMax) * plotH;
                y -= h;
                return (
                  <rect
                    key={s}
                    x={x + colW * 0.12}
                    y={y}
                    width={colW * 0.76}
                    height={Math.max(h, 0.5)}
                    fill={STATE_COLORS[s]}
                  />
                );
              })}
            </g>
          );
        })}
      </svg>
      {counts && total === 0 ? (
        <div className="chart-empty muted" aria-hidden="true">
          No runs expected to start in this window
        </div>
      ) : null}
      <div className="chart-axis" aria-hidden="true">
        <span className="chart-ymax">{niceMax}</span>
        <span>{counts ? formatShortTime(Date.parse(counts.from)) : " "}</span>
        <span>{counts && columns.length ? formatShortTime(columns[Math.floor(columns.length / 2)]!.start) : " "}</span>
        <span>{counts && columns.length ? formatShortTime(columns[columns.length - 1]!.end) : " "}</span>
      </div>
      <div className="chart-legend" role="group" aria-label="Filter by state">
        {STATE_TYPES.map((s) => (
          <button
            key={s}
            type="button"
            className="legend-item"
            aria-pressed={selectedStates.includes(s)}
            onClick={() => onToggleState(s)}
            title={`Show only ${STATE_LABELS[s].toLowerCase()} runs (toggle)`}
          >
            <span className="legend-swatch" style={{ background: STATE_COLORS[s] }} aria-hidden="true" />
            {STATE_LABELS[s]} <span className="legend-count">{totals[s] ?? 0}</span>
          </button>
        ))}
      </div>
    </figure>
  );
}

function niceCeil(n: number): number {
  const pow = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= n) return m * pow;
  return 10 * pow;
}
