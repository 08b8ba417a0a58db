import { StateNames, type State } from "@flowplane/core";

/** A task run started with `task.submit(...)`. */
export interface TaskFuture<R> {
  /** The task run id, known before the run starts. */
  readonly id: string;
  /** The latest state of the task run. */
  readonly state: State;
  /** The task's value; rejects with the task's error (TaskRunError, TimeoutError…). */
  result(): Promise<R>;
  /** The final state; never rejects. */
  wait(): Promise<State>;
}

export class TaskFutureImpl<R> implements TaskFuture<R> {
  state: State;
  private promise!: Promise<R>;

  constructor(readonly id: string) {
    this.state = { type: "PENDING", name: StateNames.Pending, timestamp: new Date().toISOString(), details: {} };
  }

  readonly onState = (state: State): void => {
    this.state = state;
  };

  attach(promise: Promise<R>): void {
    this.promise = promise;
    // A future nobody asks for the result of must not crash the process with an unhandled
    // rejection; result() still hands the rejection to whoever awaits it.
    void promise.catch(() => undefined);
  }

  result(): Promise<R> {
    return this.promise;
  }

  wait(): Promise<State> {
    return this.promise.then(
      () => this.state,
      () => this.state,
    );
  }
}
