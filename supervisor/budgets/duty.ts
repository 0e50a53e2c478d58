// The stop/continue duty cycle: in every period the child's process group is stopped for
// `stopFraction` of it and then continued. A stop never lasts longer than one period (100 ms), so
// the child keeps answering sockets and signals, only slower. Whatever happens — a new fraction,
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

  constructor(
    private readonly target: DutySignaller,
    private readonly periodMs = DUTY_PERIOD_MS,
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
    const stopMs = Math.min(this.periodMs, Math.round(this.fraction * this.periodMs));
    if (stopMs <= 0 || this.stopped) return;
    if (!this.target.signalGroup('SIGSTOP')) return;
    this.stopped = true;
    this.contTimer = setTimeout(() => {
      this.contTimer = null;
      this.stopped = false;
      this.target.signalGroup('SIGCONT');
    }, stopMs);
  }
}
