// The run timeline: a Gantt of the run's task runs and sub-flow runs on a canvas. Zoom with
// Ctrl/⌘ + wheel, the buttons or +/-; pan by dragging, Shift + wheel or the arrow keys. While the
// run is live the view follows it, until the user zooms or pans.
import { useQuery } from "@tanstack/react-query";
import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent,
  type PointerEvent,
} from "react";
import type { FlowRun, TaskRunRow } from "../api/client.ts";
import { useTRPC } from "../api/provider.tsx";
import { StateBadge } from "../components/ui.tsx";
import { formatDuration, formatFullTime, formatTime, runDurationMs } from "../lib/format.ts";
import { useNow } from "../lib/hooks.ts";
import { isTerminalState } from "../lib/states.ts";
import { Link, navigate } from "../router.tsx";
import { AXIS_HEIGHT, ROW_HEIGHT, drawTimeline, type Theme, type View } from "./draw.ts";
import { defaultMode, itemAt, layoutTimeline, type LayoutMode, type TimelineItem } from "./layout.ts";
import "./timeline.css";

export interface TimelineTiming {
  tasks: number;
  lanes: number;
  layoutMs: number;
  /** From the task runs' arrival (response parsed) to the canvas drawn. */
  totalMs: number;
  /** From arrival to the next animation frame after drawing (the first paint that shows it). */
  frameMs: number | null;
}

declare global {
  interface Window {
    __flowplaneTimeline?: TimelineTiming;
  }
}

const MIN_HEIGHT = 160;
const MAX_HEIGHT = 440;

function readTheme(el: HTMLElement): Theme {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    text: v("--text", "#111827"),
    muted: v("--muted", "#6b7280"),
    grid: v("--grid", "#e5e7eb"),
    axisBg: v("--surface-2", "#f9fafb"),
    bg: v("--surface", "#ffffff"),
    selection: v("--focus", "#2563eb"),
    font: `12px ${css.fontFamily || "system-ui, sans-serif"}`,
  };
}

/** The layout and how long it took (the dashboard benchmark reads it from window.__flowplaneTimeline). */
function timedLayout(rows: readonly TaskRunRow[], mode: LayoutMode) {
  const start = performance.now();
  const layout = layoutTimeline(rows, mode);
  return { layout, layoutMs: performance.now() - start };
}

export function Timeline({
  run,
  rows,
  receivedAt,
  loading,
}: {
  run: FlowRun;
  rows: readonly TaskRunRow[];
  receivedAt: number | null;
  loading: boolean;
}) {
  const containerRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [modeOverride, setModeOverride] = useState<LayoutMode | null>(null);
  const mode = modeOverride ?? defaultMode(rows.length);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [hover, setHover] = useState<{ item: TimelineItem; x: number; y: number } | null>(null);
  const viewRef = useRef<View>({ t0: 0, t1: 1, scrollY: 0 });
  const followRef = useRef(true);
  const [following, setFollowing] = useState(true);
  const measuredRef = useRef<number | null>(null);

  const { layout, layoutMs } = useMemo(() => timedLayout(rows, mode), [rows, mode]);

  const runStart = run.startTime ? Date.parse(run.startTime) : null;
  const runEnd = run.endTime ? Date.parse(run.endTime) : null;
  const live = !isTerminalState(run.state.type);
  // Task runs still open when their run has ended (a crash, a cancel) are drawn up to the run's end.
  const clock = useCallback(() => (live ? Date.now() : (runEnd ?? Date.now())), [live, runEnd]);
  // The canvas only grows (never shrinks) while the page is open, so content below never jumps up.
  const [height, setHeight] = useState(MIN_HEIGHT);
  const wantedHeight = Math.min(MAX_HEIGHT, AXIS_HEIGHT + layout.lanes.length * ROW_HEIGHT + 8);
  if (wantedHeight > height) setHeight(wantedHeight);

  const fit = useCallback(() => {
    const now = clock();
    let lo = Math.min(Number.isNaN(layout.minTime) ? Infinity : layout.minTime, runStart ?? Infinity);
    let hi = Math.max(
      Number.isNaN(layout.maxTime) ? -Infinity : layout.maxTime,
      runEnd ?? -Infinity,
      live && (runStart !== null || layout.running > 0) ? now : -Infinity,
    );
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      const expected = Date.parse(run.expectedStartTime);
      lo = Math.min(expected, now - 10_000);
      hi = Math.max(expected, now);
    }
    const span = Math.max(hi - lo, 10);
    viewRef.current = { ...viewRef.current, t0: lo - span * 0.03, t1: lo + span * 1.06 };
  }, [layout, runStart, runEnd, live, clock, run.expectedStartTime]);

  const draw = useCallback(() => {
    const canvas = canvasRef.current;
    const container = containerRef.current;
    if (!canvas || !container || width === 0) return;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const maxScroll = Math.max(0, layout.lanes.length * ROW_HEIGHT - (height - AXIS_HEIGHT));
    viewRef.current.scrollY = Math.min(Math.max(0, viewRef.current.scrollY), maxScroll);
    drawTimeline(ctx, width, height, layout, viewRef.current, readTheme(container), {
      now: clock(),
      live,
      runStart,
      runEnd,
      selectedId,
      hoverId: hover?.item.id ?? null,
    });
  }, [width, height, layout, live, clock, runStart, runEnd, selectedId, hover]);

  useLayoutEffect(() => {
    const el = containerRef.current;
    if (!el) return;
    const ro = new ResizeObserver(([entry]) => entry && setWidth(Math.floor(entry.contentRect.width)));
    ro.observe(el);
    setWidth(Math.floor(el.getBoundingClientRect().width));
    return () => ro.disconnect();
  }, []);

  useLayoutEffect(() => {
    if (followRef.current) fit();
    draw();
    if (receivedAt !== null && measuredRef.current !== receivedAt && width > 0) {
      measuredRef.current = receivedAt;
      const drawnAt = performance.now();
      const timing: TimelineTiming = {
        tasks: rows.length,
        lanes: layout.lanes.length,
        layoutMs,
        totalMs: drawnAt - receivedAt,
        frameMs: null,
      };
      window.__flowplaneTimeline = timing;
      performance.measure("timeline-render", { start: receivedAt, end: drawnAt });
      requestAnimationFrame(() => requestAnimationFrame(() => (timing.frameMs = performance.now() - receivedAt)));
    }
  }, [fit, draw, receivedAt, rows.length, layout, layoutMs, width]);

  // While live, running bars grow and the "now" line moves.
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => {
      if (followRef.current) fit();
      draw();
    }, 250);
    return () => clearInterval(t);
  }, [live, fit, draw]);

  const stopFollowing = () => {
    if (followRef.current) {
      followRef.current = false;
      setFollowing(false);
    }
  };

  const zoom = useCallback(
    (factor: number, anchorX?: number) => {
      const v = viewRef.current;
      const span = v.t1 - v.t0;
      const ax = anchorX ?? width / 2;
      const anchorT = v.t0 + (ax / Math.max(1, width)) * span;
      const next = Math.min(Math.max(span * factor, 5), 1000 * 86_400_000);
      v.t0 = anchorT - (ax / Math.max(1, width)) * next;
      v.t1 = v.t0 + next;
      stopFollowing();
      draw();
    },
    [width, draw],
  );

  const pan = useCallback(
    (dxPx: number, dyPx: number) => {
      const v = viewRef.current;
      const dt = (dxPx / Math.max(1, width)) * (v.t1 - v.t0);
      v.t0 += dt;
      v.t1 += dt;
      v.scrollY += dyPx;
      if (dxPx !== 0) stopFollowing();
      draw();
    },
    [width, draw],
  );

  const resetView = () => {
    followRef.current = true;
    setFollowing(true);
    viewRef.current.scrollY = 0;
    fit();
    draw();
  };

  // Wheel: Ctrl/⌘ zooms (also trackpad pinch), Shift or sideways scroll pans, plain wheel scrolls
  // lanes while there are lanes to scroll and otherwise lets the page scroll.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const onWheel = (e: WheelEvent) => {
      const rect = canvas.getBoundingClientRect();
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        zoom(Math.exp(e.deltaY * 0.002), e.clientX - rect.left);
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        pan(e.shiftKey ? e.deltaY : e.deltaX, 0);
      } else {
        const maxScroll = Math.max(0, layout.lanes.length * ROW_HEIGHT - (height - AXIS_HEIGHT));
        const y = viewRef.current.scrollY;
        if ((e.deltaY < 0 && y > 0) || (e.deltaY > 0 && y < maxScroll)) {
          e.preventDefault();
          pan(0, e.deltaY);
        }
      }
    };
    canvas.addEventListener("wheel", onWheel, { passive: false });
    return () => canvas.removeEventListener("wheel", onWheel);
  }, [zoom, pan, layout, height]);

  const hitTest = (clientX: number, clientY: number): TimelineItem | null => {
    const canvas = canvasRef.current;
    if (!canvas) return null;
    const rect = canvas.getBoundingClientRect();
    const x = clientX - rect.left;
    const y = clientY - rect.top;
    if (y < AXIS_HEIGHT) return null;
    const v = viewRef.current;
    const lane = Math.floor((y - AXIS_HEIGHT + v.scrollY) / ROW_HEIGHT);
    const msPerPx = (v.t1 - v.t0) / Math.max(1, width);
    return itemAt(layout, lane, v.t0 + x * msPerPx, 4 * msPerPx, clock());
  };

  const drag = useRef<{ x: number; y: number; moved: boolean } | null>(null);
  const onPointerDown = (e: PointerEvent<HTMLCanvasElement>) => {
    if (e.button !== 0) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY, moved: false };
  };
  const onPointerMove = (e: PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    if (d) {
      const dx = e.clientX - d.x;
      const dy = e.clientY - d.y;
      if (d.moved || Math.abs(dx) + Math.abs(dy) > 3) {
        d.moved = true;
        d.x = e.clientX;
        d.y = e.clientY;
        setHover(null);
        pan(-dx, -dy);
      }
      return;
    }
    const item = hitTest(e.clientX, e.clientY);
    const rect = e.currentTarget.getBoundingClientRect();
    setHover(item ? { item, x: e.clientX - rect.left, y: e.clientY - rect.top } : null);
  };
  const onPointerUp = (e: PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    drag.current = null;
    if (d && !d.moved) setSelectedId(hitTest(e.clientX, e.clientY)?.id ?? null);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>) => {
    const step = width * 0.1;
    switch (e.key) {
      case "ArrowLeft":
        pan(-step, 0);
        break;
      case "ArrowRight":
        pan(step, 0);
        break;
      case "ArrowUp":
        pan(0, -ROW_HEIGHT * 3);
        break;
      case "ArrowDown":
        pan(0, ROW_HEIGHT * 3);
        break;
      case "+":
      case "=":
        zoom(0.5);
        break;
      case "-":
      case "_":
        zoom(2);
        break;
      case "0":
        resetView();
        break;
      case "Escape":
        setSelectedId(null);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const byId = useMemo(() => new Map(rows.map((r) => [r.id, r])), [rows]);
  const selected = selectedId ? (byId.get(selectedId) ?? null) : null;
  const stats = useMemo(() => {
    let subflows = 0;
    let retried = 0;
    for (const r of rows) {
      if (r.subflowRunId) subflows++;
      if (r.runCount > 1) retried++;
    }
    return { subflows, retried };
  }, [rows]);
  const summary = `${rows.length} task run${rows.length === 1 ? "" : "s"}${layout.running ? `, ${layout.running} running` : ""}${stats.subflows ? `, ${stats.subflows} sub-flow run${stats.subflows === 1 ? "" : "s"}` : ""}${stats.retried ? `, ${stats.retried} retried` : ""}`;

  return (
    <div className="timeline" data-testid="timeline" data-tasks={rows.length} data-run-state={run.state.type}>
      <div className="timeline-toolbar">
        <span className="muted small" aria-live="polite">
          {loading && rows.length === 0 ? "Loading task runs…" : summary}
        </span>
        <div className="toolbar-group">
          <div className="segmented" role="radiogroup" aria-label="Layout">
            {(["rows", "packed"] as const).map((m) => (
              <button
                key={m}
                type="button"
                role="radio"
                aria-checked={mode === m}
                className={mode === m ? "active" : ""}
                onClick={() => setModeOverride(m)}
                title={m === "rows" ? "One row per task run" : "Pack task runs into as few rows as possible"}
              >
                {m === "rows" ? "Rows" : "Packed"}
              </button>
            ))}
          </div>
          <button type="button" className="button small" onClick={() => zoom(2)} aria-label="Zoom out">
            −
          </button>
          <button type="button" className="button small" onClick={() => zoom(0.5)} aria-label="Zoom in">
            +
          </button>
          <button
            type="button"
            className="button small"
            onClick={resetView}
            aria-pressed={following}
            title="Fit the whole run (and follow it while live)"
          >
            Fit
          </button>
        </div>
      </div>
      <div ref={containerRef} className="timeline-canvas-wrap" style={{ height }}>
        <canvas
          ref={canvasRef}
          style={{ width: "100%", height }}
          tabIndex={0}
          role="img"
          aria-label={`Timeline of this run: ${summary}. Use arrow keys to pan, plus and minus to zoom, 0 to fit.`}
          aria-describedby="timeline-help"
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerLeave={() => setHover(null)}
          onDoubleClick={(e) => {
            const it = hitTest(e.clientX, e.clientY);
            if (it?.subflowRunId) navigate(`/runs/${it.subflowRunId}`);
          }}
          onKeyDown={onKeyDown}
        />
        {rows.length === 0 && !loading ? (
          <div className="timeline-empty">
            {run.state.type === "SCHEDULED" || run.state.type === "PENDING"
              ? "Waiting for the run to start — task runs appear here live."
              : "This run has no task runs."}
          </div>
        ) : null}
        {hover ? <TimelineTooltip item={hover.item} x={hover.x} y={hover.y} width={width} /> : null}
      </div>
      <p id="timeline-help" className="muted small timeline-help">
        Drag to pan · Ctrl/⌘ + wheel to zoom · Shift + wheel to pan sideways · click a bar for details · double-click a
        sub-flow (⤷) to open it · ↻ marks retried task runs
      </p>
      <div aria-live="polite">
        {selected ? <TaskRunDetails row={selected} onClose={() => setSelectedId(null)} /> : null}
      </div>
    </div>
  );
}

function TimelineTooltip({ item, x, y, width }: { item: TimelineItem; x: number; y: number; width: number }) {
  const open = Number.isNaN(item.end);
  const now = useNow(1000, open);
  const end = open ? now : item.end;
  const left = Math.min(x + 12, Math.max(0, width - 260));
  return (
    <div className="timeline-tooltip" style={{ left, top: y + 14 }} aria-hidden="true">
      <div className="tt-title">
        {item.subflowRunId ? "⤷ " : ""}
        {item.name}
      </div>
      <StateBadge type={item.stateType} name={item.stateName} />
      <div className="muted small">
        {item.started ? `${formatDuration(end - item.start)}${Number.isNaN(item.end) ? " so far" : ""}` : "not started"}
        {item.runCount > 1 ? ` · ${item.runCount} attempts` : ""}
      </div>
    </div>
  );
}

function TaskRunDetails({ row, onClose }: { row: TaskRunRow; onClose: () => void }) {
  const trpc = useTRPC();
  const now = useNow(1000, row.startTime !== null && row.endTime === null);
  const history = useQuery(trpc.taskRuns.history.queryOptions({ id: row.id }));
  return (
    <section className="task-details" aria-label={`Task run ${row.name}`}>
      <div className="task-details-header">
        <h3>
          {row.subflowRunId ? "Sub-flow run " : "Task run "}
          <code>{row.name}</code>
        </h3>
        <button type="button" className="button small ghost" onClick={onClose} aria-label="Close task run details">
          Close
        </button>
      </div>
      <dl className="kv">
        <dt>State</dt>
        <dd>
          <StateBadge type={row.stateType} name={row.stateName} />
          {row.stateMessage ? <span className="muted"> — {row.stateMessage}</span> : null}
        </dd>
        <dt>Attempts</dt>
        <dd>{row.runCount}</dd>
        <dt>Started</dt>
        <dd title={formatFullTime(row.startTime)}>{formatTime(row.startTime)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(runDurationMs(row, now))}</dd>
        <dt>Task</dt>
        <dd>
          <code>{row.taskKey}</code> #{row.dynamicKey}
        </dd>
        {row.subflowRunId ? (
          <>
            <dt>Sub-flow</dt>
            <dd>
              <Link to={`/runs/${row.subflowRunId}`}>Open the sub-flow run</Link>
            </dd>
          </>
        ) : null}
      </dl>
      <h4>State history</h4>
      {history.data ? (
        <ol className="history compact">
          {history.data.map((s) => (
            <li key={s.id}>
              <StateBadge type={s.type} name={s.name} /> <time dateTime={s.timestamp}>{formatTime(s.timestamp)}</time>
              {s.message ? <span className="muted"> — {s.message}</span> : null}
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted small">{history.isError ? "Could not load the history." : "Loading…"}</p>
      )}
    </section>
  );
}
