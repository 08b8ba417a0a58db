// Group commit for the hot paths. Requests that arrive together (a worker's batched HTTP call, many
// workers polling at once) each want one small statement; their round trips, parses and commits
// are what a busy server spends its time on. A Coalescer gathers the items submitted during one
// event-loop turn and runs them as one set-based statement, so the cost of a statement is shared
// by every request of that turn while a lone request still goes out at the end of its own turn
// (no timer, no added latency on an idle server).

export interface CoalescerOptions<In> {
  /** Items per statement at most; the rest go in the next one. */
  maxBatch?: number;
  /**
   * Items with the same key never share a batch (a statement updating one row twice would apply
   * only one of the two); a repeated key waits for the next batch.
   */
  keyOf?: (item: In) => string;
}

interface Pending<In, Out> {
  item: In;
  resolve(out: Out): void;
  reject(err: unknown): void;
}

export class Coalescer<In, Out> {
  private pending: Pending<In, Out>[] = [];
  private scheduled = false;
  private readonly maxBatch: number;

  /**
   * `runBatch` answers one output per item, in the items' order. A batch that throws is retried
   * item by item (`runBatch` with one item each), so one bad item, or a deadlock between two
   * concurrent batches, fails only the items that fail on their own.
   */
  constructor(
    private readonly runBatch: (items: In[]) => Promise<Out[]>,
    private readonly options: CoalescerOptions<In> = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
  }

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    let waiting = this.pending;
    this.pending = [];
    while (waiting.length > 0) {
      const { batch, rest } = this.take(waiting);
      waiting = rest;
      void this.run(batch);
    }
  }

  /** The next batch: up to maxBatch items with distinct keys, in submission order. */
  private take(waiting: Pending<In, Out>[]): { batch: Pending<In, Out>[]; rest: Pending<In, Out>[] } {
    const keyOf = this.options.keyOf;
    if (!keyOf) return { batch: waiting.slice(0, this.maxBatch), rest: waiting.slice(this.maxBatch) };
    const batch: Pending<In, Out>[] = [];
    const rest: Pending<In, Out>[] = [];
    const keys = new Set<string>();
    for (const p of waiting) {
      const key = keyOf(p.item);
      if (batch.length >= this.maxBatch || keys.has(key)) rest.push(p);
      else {
        keys.add(key);
        batch.push(p);
      }
    }
    // An item held back for a repeated key goes in a later statement (for versioned writes, the
    // one that finds the row changed decides again).
    return { batch, rest };
  }

  private async run(batch: Pending<In, Out>[]): Promise<void> {
    try {
      const outs = await this.runBatch(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(outs[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      await Promise.all(
        batch.map(async (p) => {
          try {
            p.resolve((await this.runBatch([p.item]))[0]!);
          } catch (e) {
            p.reject(e);
          }
        }),
      );
    }
  }
}
