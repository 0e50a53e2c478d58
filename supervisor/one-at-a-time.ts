// Reload serialisation, for every reload warden does: one runs at a time, and calls made while
// it runs fold into one follow-up run, which starts when it ends and sees the state as it is then.

export class OneAtATime<A, R> {
  private running: Promise<R> | null = null;
  private next: { arg: A; promise: Promise<R> } | null = null;

  /** `fold(queued, arg)`: the follow-up's argument once `arg` is asked for too. */
  constructor(
    private readonly work: (arg: A) => Promise<R>,
    private readonly fold: (queued: A, arg: A) => A,
  ) {}

  /** Resolves with the result of the run that covers this call: the one started now, or the follow-up. */
  run(arg: A): Promise<R> {
    if (!this.running) return this.start(arg);
    if (this.next) {
      this.next.arg = this.fold(this.next.arg, arg);
      return this.next.promise;
    }
    const next = { arg, promise: undefined as unknown as Promise<R> };
    // A run that failed takes no follow-up: its callers see the failure, and the next call starts afresh.
    next.promise = this.running.then(
      () => {
        this.next = null;
        return this.start(next.arg);
      },
      (err: unknown) => {
        this.next = null;
        throw err;
      },
    );
    this.next = next;
    return next.promise;
  }

  private start(arg: A): Promise<R> {
    const p = this.work(arg).finally(() => {
      if (this.running === p) this.running = null;
    });
    this.running = p;
    return p;
  }
}
