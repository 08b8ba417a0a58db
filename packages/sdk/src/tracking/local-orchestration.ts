// The orchestration decisions a tracker without a server makes for flow runs. They mirror the
// control plane's rules that matter to a single process — above all the retry decision: a FAILED
// proposal with retries left is answered REJECT → SCHEDULED "AwaitingRetry", exactly as the server
// answers, so the engine has one code path for flow retries whichever tracker is in use.
import { DEFAULT_STATE_NAMES, isTerminal, StateNames, type State, type StateInput } from "@flowplane/core";
import { uuidv7 } from "../ids.ts";
import { retryDelaySeconds, type RetryDelay } from "../retry.ts";
import type { FlowRunInfo, FlowRunStart, ProposalResult } from "./tracker.ts";

export interface LocalFlowRun {
  readonly info: FlowRunInfo;
  readonly start: FlowRunStart;
  /** The outermost flow run this one belongs to (itself for a top-level run). */
  readonly rootId: string;
  state: State;
  readonly states: State[];
  readonly startedAt: number;
}

export function toState(input: StateInput, now: number = Date.now()): State {
  const state: State = {
    type: input.type,
    name: input.name ?? DEFAULT_STATE_NAMES[input.type],
    timestamp: input.timestamp ?? new Date(now).toISOString(),
    details: input.details ?? {},
  };
  if (input.message !== undefined) state.message = input.message;
  if (input.transitionId !== undefined) state.transitionId = input.transitionId;
  return state;
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
        name: randomRunName(),
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
    };
    this.runs.set(id, run);
    return run;
  }

  /** Decides a proposal without applying it. */
  decide(run: LocalFlowRun, proposed: StateInput, now: number = Date.now()): ProposalResult {
    const current = run.state;
    if (proposed.transitionId !== undefined && proposed.transitionId === current.transitionId) {
      return { status: "ACCEPT", state: current };
    }
    if (proposed.type === "RUNNING") {
      if ((isTerminal(current.type) || current.type === "CANCELLING") && !proposed.details?.retryRequested) {
        return { status: "ABORT", reason: `run is already ${current.type}` };
      }
      const at = current.type === "SCHEDULED" ? current.details.scheduledTime : undefined;
      if (at !== undefined && Date.parse(at) > now) {
        return { status: "WAIT", delaySeconds: (Date.parse(at) - now) / 1000, reason: "scheduled in the future" };
      }
    }
    if (proposed.type === "FAILED" && current.type === "RUNNING") {
      const policy = run.start.retryPolicy;
      const noRetry = (proposed.details as { noRetry?: boolean } | undefined)?.noRetry === true;
      if (!noRetry && run.info.runCount <= policy.retries) {
        const delay = retryDelaySeconds(
          { retryDelaySeconds: asRetryDelay(policy.retryDelaySeconds), retryJitterFactor: policy.retryJitterFactor },
          run.info.runCount,
        );
        const awaiting = toState(
          {
            type: "SCHEDULED",
            name: StateNames.AwaitingRetry,
            details: { scheduledTime: new Date(now + delay * 1000).toISOString() },
            ...(proposed.message !== undefined ? { message: proposed.message } : {}),
          },
          now,
        );
        return { status: "REJECT", state: awaiting, reason: `retry ${run.info.runCount} of ${policy.retries}` };
      }
    }
    return { status: "ACCEPT", state: toState(proposed, now) };
  }

  /** Records the outcome of a decision on the run. */
  apply(run: LocalFlowRun, result: ProposalResult): void {
    if (result.status !== "ACCEPT" && result.status !== "REJECT") return;
    if (result.state === run.state) return;
    if (result.state.type === "RUNNING") (run.info as { runCount: number }).runCount++;
    run.state = result.state;
    run.states.push(result.state);
  }

  propose(flowRunId: string, proposed: StateInput): ProposalResult {
    const run = this.runs.get(flowRunId);
    if (run === undefined) return { status: "ABORT", reason: `unknown flow run ${flowRunId}` };
    const result = this.decide(run, proposed);
    this.apply(run, result);
    return result;
  }
}

export function asRetryDelay(value: unknown): RetryDelay | undefined {
  if (typeof value === "number") return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "number")) return value as number[];
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
  "amber", "brisk", "calm", "daring", "eager", "fuzzy", "gentle", "hidden", "icy", "jolly", "keen",
  "lucky", "mellow", "nimble", "olive", "proud", "quiet", "rapid", "silver", "tidy", "urban", "vivid",
  "witty", "young", "zesty", "crimson", "golden", "misty", "sunny", "wild",
];
const ANIMALS = [
  "otter", "falcon", "badger", "heron", "lynx", "marmot", "newt", "osprey", "panda", "quokka",
  "raven", "salmon", "tapir", "urchin", "vole", "walrus", "yak", "zebra", "beaver", "coyote", "dingo",
  "ferret", "gecko", "ibis", "jackal", "koala", "lemur", "moose", "narwhal", "ocelot",
];

function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(Math.random() * xs.length)]!;
}

/** Human-friendly run names in the Prefect tradition ("brisk-otter"). */
export function randomRunName(): string {
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}`;
}
