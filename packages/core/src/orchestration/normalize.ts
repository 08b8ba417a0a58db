import { DEFAULT_STATE_NAMES, type State, type StateInput } from "../states.ts";

/** The state the server stores for a proposal: a name, a timestamp and details are always present. */
export function normalizeState(input: StateInput, now: Date): State {
  const state: State = {
    type: input.type,
    // An empty name would render as a blank badge, so it counts as missing.
    name: input.name ? input.name : DEFAULT_STATE_NAMES[input.type],
    timestamp: input.timestamp ?? now.toISOString(),
    // Copied so a caller mutating the stored state cannot reach back into the proposal.
    details: { ...input.details },
  };
  if (input.message !== undefined) state.message = input.message;
  if (input.transitionId !== undefined) state.transitionId = input.transitionId;
  return state;
}
