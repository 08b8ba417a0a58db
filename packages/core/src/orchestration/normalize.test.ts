import { describe, expect, it } from "vitest";
import type { State, StateInput } from "../states.ts";
import { normalizeState } from "./normalize.ts";

const NOW = new Date("2030-01-01T12:00:00.000Z");

describe("normalizeState", () => {
  const cases: { name: string; input: StateInput; want: State }[] = [
    {
      name: "fills name, timestamp and details",
      input: { type: "PENDING" },
      want: { type: "PENDING", name: "Pending", timestamp: NOW.toISOString(), details: {} },
    },
    {
      name: "keeps a given name",
      input: { type: "SCHEDULED", name: "Late" },
      want: { type: "SCHEDULED", name: "Late", timestamp: NOW.toISOString(), details: {} },
    },
    {
      name: "an empty name counts as missing",
      input: { type: "CRASHED", name: "" },
      want: { type: "CRASHED", name: "Crashed", timestamp: NOW.toISOString(), details: {} },
    },
    {
      name: "keeps timestamp, message, transitionId and details",
      input: {
        type: "SCHEDULED",
        timestamp: "2029-12-31T00:00:00.000Z",
        message: "hi",
        transitionId: "t-1",
        details: { scheduledTime: "2030-01-02T00:00:00.000Z" },
      },
      want: {
        type: "SCHEDULED",
        name: "Scheduled",
        timestamp: "2029-12-31T00:00:00.000Z",
        message: "hi",
        transitionId: "t-1",
        details: { scheduledTime: "2030-01-02T00:00:00.000Z" },
      },
    },
  ];
  it.each(cases)("$name", ({ input, want }) => {
    expect(normalizeState(input, NOW)).toStrictEqual(want);
  });

  it("does not share details with the proposal", () => {
    const input: StateInput = { type: "COMPLETED", details: { resultRef: "r" } };
    const state = normalizeState(input, NOW);
    state.details.resultRef = "changed";
    expect(input.details?.resultRef).toBe("r");
  });
});
