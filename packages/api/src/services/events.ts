// Live events. Every change publishes its events through one EventPublisher after its change
// committed (so no event describes a change that did not happen); PostgreSQL NOTIFY carries them to
// every server replica, each LISTENing on one connection that fans them out to in-process
// subscribers (EventBus).
import { EventEmitter } from "node:events";
import pg from "pg";

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

/**
 * Sends events for changes that have already committed. NOTIFY inside a writing transaction holds
 * PostgreSQL's global notify lock across that transaction's commit (its WAL flush), so every
 * notifying commit in the database waits for the previous one's fsync: on the hot paths (claims,
 * proposals, ingestion) that serialised all commits. Sent after the commit instead, from a
 * statement that writes nothing (no WAL flush), the lock is held for microseconds, and the events
 * of concurrent requests go out together in one statement. Events are hints (subscribers refetch;
 * long-polls also wake on their timeout), so the guarantee that matters is kept: an event is only
 * sent for a change that committed. Callers do not wait for the send (it follows within an
 * event-loop turn), and a failed send is not their failure: their change committed, only hints are
 * lost.
 *
 * Events wait for the current event-loop turn to end (so the events of all requests finishing
 * together share one statement), and one statement is in flight at a time, so events go out in
 * the order they were published.
 */
export class EventPublisher {
  private pending: string[] = [];
  private scheduled = false;
  private sending = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(private readonly pool: pg.Pool) {}

  /** Call only after the change these events describe has committed. */
  publish(events: readonly FlowplaneEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) this.pending.push(JSON.stringify(e));
    if (!this.scheduled && !this.sending) {
      this.scheduled = true;
      this.idle = new Promise((resolve) => (this.markIdle = resolve));
      setImmediate(() => void this.pump());
    }
  }

  /** Resolves when every event published so far has been sent (or given up). */
  flushed(): Promise<void> {
    return this.idle;
  }

  private async pump(): Promise<void> {
    this.scheduled = false;
    this.sending = true;
    while (this.pending.length > 0) {
      const payloads = packEvents(this.pending);
      this.pending = [];
      try {
        await this.pool.query({
          name: "flowplane_notify_batch",
          text: `SELECT pg_notify('${EVENTS_CHANNEL}', p) FROM unnest($1::text[]) WITH ORDINALITY AS e(p, n) ORDER BY n`,
          values: [payloads],
        });
      } catch {
        // The changes committed; only their hints are lost (the pool reports connection errors).
      }
    }
    this.sending = false;
    this.markIdle();
  }
}

/**
 * Events packed as JSON arrays into as few notifications as fit PostgreSQL's payload limit (8,000
 * bytes): each notification is queued, signalled and parsed on every replica, so a busy server
 * sends one per few dozen events rather than one each. EventBus unpacks them.
 */
export function packEvents(payloads: string[]): string[] {
  const packed: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const p of payloads) {
    const bytes = Buffer.byteLength(p) + 1;
    if (current.length > 0 && size + bytes > NOTIFY_PAYLOAD_BYTES) {
      packed.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(p);
    size += bytes;
  }
  if (current.length > 0) packed.push(`[${current.join(",")}]`);
  return packed;
}

/** Under PostgreSQL's 8,000-byte NOTIFY payload limit, with room to spare. */
const NOTIFY_PAYLOAD_BYTES = 7_000;

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
        // One event, or several packed by EventPublisher.
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
