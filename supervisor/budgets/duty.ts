// The stop/continue duty cycle: in every period the child's process group is stopped for
// `stopFraction` of it and then continued. A stop never lasts longer than one period (100 ms), so
// the child keeps answering sockets and signals, only slower. A period that begins late (a busy
// event loop) let the child run longer than planned: its stop is longer by the lateness, up to the
// cap, so the share held over time stays the one asked for. Whatever happens — a new fraction,
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
  /** When the current period was due to begin (monotonic ms). */
  private due = 0;

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
      this.due = this.now();
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
    const now = this.now();
    // An interval timer runs again one period after it last ran: lateness does not carry over.
    const late = Math.max(0, now - this.due);
    this.due = now + this.periodMs;
    const cap = Math.round(MAX_STOP_FRACTION * this.periodMs);
    const stopMs = Math.min(cap, Math.round(this.fraction * this.periodMs + late));
    if (this.fraction <= 0 || stopMs <= 0 || this.stopped) return;
    if (!this.target.signalGroup('SIGSTOP')) return;
    this.stopped = true;
    this.contTimer = setTimeout(() => {
      this.contTimer = null;
      this.stopped = false;
      this.target.signalGroup('SIGCONT');
    }, stopMs);
  }
}
