// One palette for run states, used by badges (CSS variables), the runs chart (SVG) and the
// timeline (canvas), so a state has the same colour everywhere.
import { DEFAULT_STATE_NAMES, STATE_TYPES, TERMINAL_STATE_TYPES, type StateType } from "@flowplane/core";

export { STATE_TYPES, type StateType };

export const STATE_COLORS: Record<StateType, string> = {
  SCHEDULED: "#c48a04",
  PENDING: "#8593a8",
  RUNNING: "#2563eb",
  COMPLETED: "#15803d",
  FAILED: "#dc2626",
  CANCELLED: "#4b5563",
  CRASHED: "#ea580c",
  PAUSED: "#9333ea",
  CANCELLING: "#94a3b8",
};

export const STATE_LABELS: Record<StateType, string> = DEFAULT_STATE_NAMES;

const TERMINAL = new Set<string>(TERMINAL_STATE_TYPES);

export function isStateType(value: string): value is StateType {
  return (STATE_TYPES as readonly string[]).includes(value);
}

export function isTerminalState(type: string): boolean {
  return TERMINAL.has(type);
}

export function stateColor(type: string): string {
  return isStateType(type) ? STATE_COLORS[type] : "#8593a8";
}

/** Publishes the palette as CSS custom properties (`--state-running` …) for stylesheets. */
export function installStateColors(root: HTMLElement): void {
  for (const type of STATE_TYPES) root.style.setProperty(`--state-${type.toLowerCase()}`, STATE_COLORS[type]);
}
