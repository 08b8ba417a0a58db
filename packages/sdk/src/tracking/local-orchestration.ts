// Orchestration for trackers without a server: flow-run proposals are decided by the control
// plane's own pure rules (`orchestrate` from @flowplane/core), so a local run retries, waits and
// aborts exactly as it would against the server — above all, a FAILED proposal with retries left is
// answered REJECT → SCHEDULED "AwaitingRetry", and the engine has one code path for flow retries.
import { normalizeState, orchestrate, type RetryDelay, type State, type StateInput } from "@flowplane/core";
import { uuidv7 } from "@flowplane/core";
import type { FlowRunInfo, FlowRunStart, ProposalResult } from "./tracker.ts";

export interface LocalFlowRun {
  readonly info: FlowRunInfo;
  readonly start: FlowRunStart;
  /** The outermost flow run this one belongs to (itself for a top-level run). */
  readonly rootId: string;
  state: State;
  readonly states: State[];
  readonly startedAt: number;
  /** When the run may next start (from its latest SCHEDULED state), as the server tracks it. */
  nextScheduledTime: Date | null;
}

export function toState(input: StateInput, now: number = Date.now()): State {
  return normalizeState(input, new Date(now));
}

export class LocalFlowRunBook {
  readonly runs = new Map<string, LocalFlowRun>();

  /** `rootOf` maps a parent task run id to the root flow run of the flow run that owns it. */
  start(start: FlowRunStart, rootOf: (parentTaskRunId: string) => string | undefined = () => undefined): LocalFlowRun {
    const existing = start.flowRunId === undefined ? undefined : this.runs.get(start.flowRunId);
    if (existing) return existing;
    const id = start.flowRunId ?? uuidv7();
    const now = Date.now();
    const pending = toState({ type: "PENDING" }, now);
    const run: LocalFlowRun = {
      info: {
        id,
        name: start.flowRunName ?? randomRunName(),
        runCount: 0,
        parameters: start.parameters,
        scheduledTime: null,
        partitionKey: null,
        deploymentId: null,
      },
      start,
      rootId: (start.parentTaskRunId !== undefined ? rootOf(start.parentTaskRunId) : undefined) ?? id,
      state: pending,
      states: [pending],
      startedAt: now,
      nextScheduledTime: null,
    };
    this.runs.set(id, run);
    return run;
  }

  /** The server's decision on a proposal; `write` says whether the answered state is stored. */
  decide(
    run: LocalFlowRun,
    proposed: StateInput,
    now: number = Date.now(),
  ): { result: ProposalResult; write: boolean } {
    const policy = run.start.retryPolicy;
    const retryDelaySeconds = asRetryDelay(policy.retryDelaySeconds);
    const decision = orchestrate({
      kind: "flow",
      now: new Date(now),
      current: run.state,
      proposed,
      run: {
        runCount: run.info.runCount,
        retryPolicy: {
          retries: policy.retries,
          ...(retryDelaySeconds !== undefined ? { retryDelaySeconds } : {}),
          ...(policy.retryJitterFactor !== undefined ? { retryJitterFactor: policy.retryJitterFactor } : {}),
        },
        nextScheduledTime: run.nextScheduledTime,
      },
    });
    switch (decision.status) {
      case "ACCEPT":
        return { result: { status: "ACCEPT", state: decision.state }, write: true };
      case "REJECT":
        return { result: { status: "REJECT", state: decision.state, reason: decision.reason }, write: decision.write };
      case "WAIT":
        return {
          result: { status: "WAIT", delaySeconds: decision.delaySeconds, reason: decision.reason },
          write: false,
        };
      case "ABORT":
        return { result: { status: "ABORT", reason: decision.reason }, write: false };
    }
  }

  /**
   * Decides and records a proposal. `override` may answer instead of the rules (a test playing
   * the server); its ACCEPT/REJECT states are stored unless they restate the current state.
   */
  propose(
    flowRunId: string,
    proposed: StateInput,
    override?: (run: LocalFlowRun) => ProposalResult | undefined,
  ): ProposalResult {
    const run = this.runs.get(flowRunId);
    if (run === undefined) return { status: "ABORT", reason: `unknown flow run ${flowRunId}` };
    const custom = override?.(run);
    const { result, write } =
      custom !== undefined
        ? {
            result: custom,
            write: custom.status === "ACCEPT" || (custom.status === "REJECT" && !sameState(custom.state, run.state)),
          }
        : this.decide(run, proposed);
    if (write && (result.status === "ACCEPT" || result.status === "REJECT")) this.record(run, result.state);
    return result;
  }

  private record(run: LocalFlowRun, state: State): void {
    if (state.type === "RUNNING") (run.info as { runCount: number }).runCount++;
    if (state.type === "SCHEDULED") {
      const at = state.details.scheduledTime;
      run.nextScheduledTime = at === undefined ? null : new Date(at);
    }
    run.state = state;
    run.states.push(state);
  }
}

/** A REJECT that points back at the current state ("stay where you are") writes nothing. */
function sameState(a: State, b: State): boolean {
  return a.type === b.type && a.name === b.name && a.timestamp === b.timestamp;
}

/** The retry delay from a FlowRunStart (typed loosely there because it crosses the wire). */
export function asRetryDelay(value: unknown): RetryDelay | undefined {
  if (typeof value === "number") return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "number")) return value;
  if (typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "exponential") {
    const { baseSeconds, maxSeconds } = value as { baseSeconds?: unknown; maxSeconds?: unknown };
    if (typeof baseSeconds === "number") {
      return typeof maxSeconds === "number"
        ? { kind: "exponential", baseSeconds, maxSeconds }
        : { kind: "exponential", baseSeconds };
    }
  }
  return undefined;
}

const ADJECTIVES = [
  "amber",
  "brisk",
  "calm",
  "daring",
  "eager",
  "fuzzy",
  "gentle",
  "hidden",
  "icy",
  "jolly",
  "keen",
  "lucky",
  "mellow",
  "nimble",
  "olive",
  "proud",
  "quiet",
  "rapid",
  "silver",
  "tidy",
  "urban",
  "vivid",
  "witty",
  "young",
  "zesty",
  "crimson",
  "golden",
  "misty",
  "sunny",
  "wild",
];
const ANIMALS = [
  "otter",
  "falcon",
  "badger",
  "heron",
  "lynx",
  "marmot",
  "newt",
  "osprey",
  "panda",
  "quokka",
  "raven",
  "salmon",
  "tapir",
  "urchin",
  "vole",
  "walrus",
  "yak",
  "zebra",
  "beaver",
  "coyote",
  "dingo",
  "ferret",
  "gecko",
  "ibis",
  "jackal",
  "koala",
  "lemur",
  "moose",
  "narwhal",
  "ocelot",
];

function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(Math.random() * xs.length)]!;
}

/** Human-friendly run names in the Prefect tradition ("brisk-otter"). */
export function randomRunName(): string {
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}`;
}
