// The stop/continue duty cycle: in every period the child's process group is stopped for
// `stopFraction` of it and then continued. A stop never lasts longer than one period (100 ms), so
// the child keeps answering sockets and signals, only slower. A busy event loop can let the child
// run longer than planned since its last SIGCONT (a period that begins late): the next stop is longer
// by that much, up to the cap, so the share held over time stays the one asked for. A SIGCONT that
// came late already stopped it longer, and is not made up for again. Whatever happens — a new fraction,
// the child changing, warden stopping — the last word is always SIGCONT.
export interface DutySignaller {
  signalGroup(signal: NodeJS.Signals): boolean;
}

export const DUTY_PERIOD_MS = 100;
/** Never stopped for the whole period: the child must run to answer Forward and signals. */
export const MAX_STOP_FRACTION = 0.95;

/** `fraction`, at most MAX_STOP_FRACTION: the cap the policy plans with and the cycler holds to. */
export function capStopFraction(fraction: number): number {
  return Math.min(MAX_STOP_FRACTION, fraction);
}

export class DutyCycler {
  private fraction = 0;
  private periodTimer: NodeJS.Timeout | null = null;
  private contTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Since when the child runs (its last SIGCONT, or a period without a stop; monotonic ms), and for how long it was meant to. */
  private runningSince = 0;
  private runPlannedMs = 0;

  constructor(
    private readonly target: DutySignaller,
    private readonly periodMs = DUTY_PERIOD_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get stopFraction(): number {
    return this.fraction;
  }

  /** Sets the stopped share of each period (0 ends the cycle and continues the child). */
  set(fraction: number): void {
    this.fraction = Math.max(0, capStopFraction(fraction));
    if (this.fraction === 0) {
      this.stop();
      return;
    }
    if (!this.periodTimer) {
      this.periodTimer = setInterval(() => this.slice(), this.periodMs);
      this.running(this.periodMs);
      this.slice();
    }
  }

  /** Ends the cycle and sends SIGCONT unconditionally: a signal lost to a race must not leave the child stopped. */
  stop(): void {
    this.fraction = 0;
    if (this.periodTimer) clearInterval(this.periodTimer);
    if (this.contTimer) clearTimeout(this.contTimer);
    this.periodTimer = null;
    this.contTimer = null;
    this.stopped = false;
    this.target.signalGroup('SIGCONT');
  }

  private slice(): void {
    if (this.fraction <= 0 || this.stopped) return;
    const overran = Math.max(0, this.now() - this.runningSince - this.runPlannedMs);
    const cap = Math.round(MAX_STOP_FRACTION * this.periodMs);
    const stopMs = Math.min(cap, Math.round(this.fraction * this.periodMs + overran));
    if (stopMs <= 0 || !this.target.signalGroup('SIGSTOP')) {
      this.running(this.periodMs);
      return;
    }
    this.stopped = true;
    this.contTimer = setTimeout(() => {
      this.contTimer = null;
      this.stopped = false;
      this.target.signalGroup('SIGCONT');
      this.running(this.periodMs - stopMs);
    }, stopMs);
  }

  private running(plannedMs: number): void {
    this.runningSince = this.now();
    this.runPlannedMs = plannedMs;
  }
}
