// Live events. Writers publish with pg_notify inside their transaction, so an event is delivered
// only if its change committed, and every server replica (each LISTENing) sees every event. One
// LISTEN connection per process fans events out to in-process subscribers.
import { EventEmitter } from "node:events";
import pg from "pg";
import type { Sql } from "./sql.ts";

export const EVENTS_CHANNEL = "flowplane_events";

export type FlowplaneEvent =
  | {
      kind: "flow_run";
      workspaceId: string;
      flowRunId: string;
      stateType: string;
      stateName: string;
      workPoolId: string | null;
      deploymentId: string | null;
    }
  | { kind: "task_runs"; workspaceId: string; flowRunIds: string[] }
  | { kind: "logs"; workspaceId: string; flowRunIds: string[] }
  | { kind: "runs_ready"; workspaceId: string; workPoolId: string }
  | { kind: "cancel_requested"; workspaceId: string; flowRunId: string; workerId: string | null };

/** Queues a notification on `sql`'s transaction (or sends it now outside one). */
export async function publish(sql: Sql, event: FlowplaneEvent): Promise<void> {
  await sql.query("select pg_notify($1, $2)", [EVENTS_CHANNEL, JSON.stringify(event)]);
}

export class EventBus {
  private readonly emitter = new EventEmitter();
  private client: pg.Client | null = null;
  private stopped = false;
  private reconnecting = false;
  private reconnectDelayMs = 250;

  constructor(
    private readonly url: string,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", (msg) => {
      if (msg.channel !== EVENTS_CHANNEL || !msg.payload) return;
      try {
        // One event, or several packed by publishAfterCommit.
        const parsed = JSON.parse(msg.payload) as FlowplaneEvent | FlowplaneEvent[];
        for (const event of Array.isArray(parsed) ? parsed : [parsed]) this.emitter.emit("event", event);
      } catch (err) {
        this.onError(err as Error);
      }
    });
    client.on("error", (err) => {
      this.onError(err);
      this.reconnect();
    });
    client.on("end", () => this.reconnect());
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    this.client = client;
    this.reconnectDelayMs = 250;
  }

  /** Deliver an event to this process's subscribers only (used when NOTIFY is not needed). */
  emitLocal(event: FlowplaneEvent): void {
    this.emitter.emit("event", event);
  }

  subscribe(listener: (event: FlowplaneEvent) => void): () => void {
    this.emitter.on("event", listener);
    return () => this.emitter.off("event", listener);
  }

  /** Resolves when `match` accepts an event, or after `timeoutMs`; `signal` cancels the wait. */
  waitFor(
    match: (event: FlowplaneEvent) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<FlowplaneEvent | null> {
    return new Promise((resolve) => {
      const done = (value: FlowplaneEvent | null) => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener("abort", onAbort);
        resolve(value);
      };
      const onAbort = () => done(null);
      const unsubscribe = this.subscribe((event) => {
        if (match(event)) done(event);
      });
      const timer = setTimeout(() => done(null), Math.max(0, timeoutMs));
      signal?.addEventListener("abort", onAbort);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private reconnect(): void {
    if (this.stopped || this.reconnecting) return;
    this.reconnecting = true;
    this.client = null;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5_000);
    setTimeout(() => {
      this.reconnecting = false;
      if (this.stopped) return;
      this.start().catch((err: Error) => {
        this.onError(err);
        this.reconnect();
      });
    }, delay);
  }
}
