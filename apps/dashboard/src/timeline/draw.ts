// Draws a timeline layout onto a canvas for one view (time window + vertical scroll). Only lanes
// and items inside the view are touched, so the cost follows what is visible, not the run's size.
import { stateColor } from "../lib/states.ts";
import { firstVisible, tickStep, type TimelineItem, type TimelineLayout } from "./layout.ts";

export interface View {
  t0: number;
  t1: number;
  scrollY: number;
}

export interface Theme {
  text: string;
  muted: string;
  grid: string;
  axisBg: string;
  bg: string;
  selection: string;
  font: string;
}

export const ROW_HEIGHT = 24;
export const BAR_HEIGHT = 16;
export const AXIS_HEIGHT = 26;

export interface DrawExtras {
  now: number;
  live: boolean;
  runStart: number | null;
  runEnd: number | null;
  selectedId: string | null;
  hoverId: string | null;
}

const widthCache = new Map<string, number>();
function textWidth(ctx: CanvasRenderingContext2D, text: string): number {
  let w = widthCache.get(text);
  if (w === undefined) {
    w = ctx.measureText(text).width;
    if (widthCache.size > 20_000) widthCache.clear();
    widthCache.set(text, w);
  }
  return w;
}

function label(it: TimelineItem): string {
  const prefix = it.subflowRunId ? "⤷ " : "";
  const retries = it.runCount > 1 ? `  ↻${it.runCount}` : "";
  return `${prefix}${it.name}${retries}`;
}

export function drawTimeline(
  ctx: CanvasRenderingContext2D,
  width: number,
  height: number,
  layout: TimelineLayout,
  view: View,
  theme: Theme,
  x: DrawExtras,
): void {
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = theme.bg;
  ctx.fillRect(0, 0, width, height);
  const span = Math.max(1, view.t1 - view.t0);
  const scale = width / span;
  const toX = (t: number) => (t - view.t0) * scale;
  ctx.font = theme.font;
  ctx.textBaseline = "middle";

  // Grid and axis.
  // Ticks are offsets from the run's start, so they fall on round offsets ("+0.2 s"), not round clock times.
  const origin = x.runStart ?? (Number.isNaN(layout.minTime) ? view.t0 : layout.minTime);
  const step = tickStep(span, Math.max(2, Math.floor(width / 110)));
  const first = origin + Math.ceil((view.t0 - origin) / step) * step;
  ctx.strokeStyle = theme.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let t = first; t <= view.t1; t += step) {
    const px = Math.round(toX(t)) + 0.5;
    ctx.moveTo(px, AXIS_HEIGHT);
    ctx.lineTo(px, height);
  }
  ctx.stroke();

  // Lanes.
  const lanesTop = AXIS_HEIGHT;
  const firstLane = Math.max(0, Math.floor(view.scrollY / ROW_HEIGHT));
  const lastLane = Math.min(layout.lanes.length - 1, Math.ceil((view.scrollY + height - lanesTop) / ROW_HEIGHT));
  const slack = 1 / scale; // one pixel in ms
  for (let laneIndex = firstLane; laneIndex <= lastLane; laneIndex++) {
    const lane = layout.lanes[laneIndex]!;
    const y = lanesTop + laneIndex * ROW_HEIGHT - view.scrollY + (ROW_HEIGHT - BAR_HEIGHT) / 2;
    let prevLabelEnd = -Infinity;
    for (let i = firstVisible(layout, lane, view.t0 - slack, x.now); i < lane.length; i++) {
      const it = layout.items[lane[i]!]!;
      if (it.start > view.t1) break;
      const end = Number.isNaN(it.end) ? x.now : it.end;
      const x0 = toX(it.start);
      const w = Math.max(2, toX(end) - x0);
      const color = stateColor(it.stateType);
      if (!it.started) {
        // Not started yet: an outlined marker where it was created.
        ctx.strokeStyle = color;
        ctx.setLineDash([3, 2]);
        ctx.strokeRect(Math.round(x0) + 0.5, y + 0.5, Math.max(8, w) - 1, BAR_HEIGHT - 1);
        ctx.setLineDash([]);
      } else {
        ctx.fillStyle = color;
        ctx.fillRect(x0, y, w, BAR_HEIGHT);
        if (it.subflowRunId) {
          // Sub-flow runs carry a band along the bottom, so they read as containers of more work.
          ctx.fillStyle = theme.text;
          ctx.globalAlpha = 0.35;
          ctx.fillRect(x0, y + BAR_HEIGHT - 3, w, 3);
          ctx.globalAlpha = 1;
        }
        if (Number.isNaN(it.end) && w > 6) {
          // Still running: a soft leading edge.
          ctx.fillStyle = theme.bg;
          ctx.globalAlpha = 0.45;
          ctx.fillRect(x0 + w - 3, y, 3, BAR_HEIGHT);
          ctx.globalAlpha = 1;
        }
      }
      if (it.id === x.selectedId || it.id === x.hoverId) {
        ctx.strokeStyle = it.id === x.selectedId ? theme.selection : theme.text;
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 - 1, y - 1, Math.max(8, w) + 2, BAR_HEIGHT + 2);
        ctx.lineWidth = 1;
      }
      // Label: inside the bar when it fits, else after it when the lane has room before the next bar.
      const room = w - 8;
      const nextIndex = lane[i + 1];
      const nextStart = nextIndex === undefined ? Infinity : toX(layout.items[nextIndex]!.start);
      const after = Math.min(nextStart, width + 400) - (x0 + w) - 10;
      if ((room >= 24 || after >= 30) && x0 + w > prevLabelEnd) {
        const text = label(it);
        const tw = textWidth(ctx, text);
        if (tw <= room) {
          ctx.fillStyle = "#fff";
          // Keep the label on screen while the bar's start is scrolled off to the left.
          const lx = Math.max(x0, 0) + 4;
          ctx.fillText(text, lx + tw <= x0 + w - 4 ? lx : x0 + 4, y + BAR_HEIGHT / 2 + 0.5);
          prevLabelEnd = x0 + w;
        } else if (after >= 30) {
          ctx.fillStyle = it.started ? theme.text : theme.muted;
          const lx = x0 + Math.max(8, w) + 5;
          ctx.save();
          ctx.beginPath();
          ctx.rect(lx, y - 2, Math.max(0, after), BAR_HEIGHT + 4);
          ctx.clip();
          ctx.fillText(text, lx, y + BAR_HEIGHT / 2 + 0.5);
          ctx.restore();
          prevLabelEnd = lx + Math.min(tw, after);
        }
      }
    }
  }

  // Run start/end and "now".
  const vline = (t: number | null, color: string, dash: number[]) => {
    if (t === null || t < view.t0 || t > view.t1) return;
    const px = Math.round(toX(t)) + 0.5;
    ctx.strokeStyle = color;
    ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(px, AXIS_HEIGHT);
    ctx.lineTo(px, height);
    ctx.stroke();
    ctx.setLineDash([]);
  };
  vline(x.runStart, theme.muted, [4, 3]);
  vline(x.runEnd, theme.muted, [4, 3]);
  if (x.live) vline(x.now, stateColor("RUNNING"), []);

  // Axis on top of everything, so bars scroll under it.
  ctx.fillStyle = theme.axisBg;
  ctx.fillRect(0, 0, width, AXIS_HEIGHT);
  ctx.fillStyle = theme.muted;
  ctx.textBaseline = "middle";
  for (let t = first; t <= view.t1; t += step) {
    const px = toX(t);
    ctx.fillText(formatOffset(t - origin, step), px + 3, AXIS_HEIGHT / 2);
  }
  ctx.strokeStyle = theme.grid;
  ctx.beginPath();
  ctx.moveTo(0, AXIS_HEIGHT - 0.5);
  ctx.lineTo(width, AXIS_HEIGHT - 0.5);
  ctx.stroke();
}

/** Axis labels are offsets from the run's start ("+1.5 s", "+2 min"), with precision from the step. */
export function formatOffset(ms: number, step: number): string {
  const sign = ms < 0 ? "−" : "+";
  const a = Math.abs(ms);
  if (step < 1000) return `${sign}${(a / 1000).toFixed(step < 10 ? 3 : step < 100 ? 2 : 1)} s`;
  if (step < 60_000) return `${sign}${Math.round(a / 1000)} s`;
  if (step < 3_600_000) {
    const m = Math.floor(a / 60_000);
    const s = Math.round((a % 60_000) / 1000);
    return s ? `${sign}${m}m ${s}s` : `${sign}${m} min`;
  }
  const h = Math.floor(a / 3_600_000);
  const m = Math.round((a % 3_600_000) / 60_000);
  return m ? `${sign}${h}h ${m}m` : `${sign}${h} h`;
}
