// One line of the results table, and the per-section scope that bounds a section in time and
// cleans up what it started even when it failed or ran out of time.
export interface Row {
  section: string;
  metric: string;
  /** null: not measured (skipped or failed; `note` says why). */
  value: number | null;
  unit: string;
  /** The target, as text; absent for context rows. */
  target?: string;
  /** Whether the target is met; null when it does not apply on this run. */
  met?: boolean | null;
  note?: string;
}

export class Scope {
  private readonly cleanups: Array<() => unknown> = [];
  closed = false;

  /** Runs `fn` when the section ends, last registered first. */
  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // cleanup is best effort: the section's own error is what the table shows
      }
    }
  }
}

/**
 * Runs a section with a time bound. A failure or timeout becomes one row that carries the error,
 * and the run goes on.
 */
export async function runSection(name: string, timeoutMs: number, fn: (scope: Scope) => Promise<Row[]>): Promise<Row[]> {
  const scope = new Scope();
  let timer: NodeJS.Timeout | undefined;
  const started = performance.now();
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`section ${name} exceeded its ${Math.round(timeoutMs / 1000)} s bound`)), timeoutMs);
    });
    return await Promise.race([fn(scope), timeout]);
  } catch (err) {
    const msg = (err as Error).message.replace(/\s+/g, ' ').slice(0, 400);
    return [{ section: name, metric: 'failed', value: null, unit: '', note: `${msg} (after ${((performance.now() - started) / 1000).toFixed(1)} s)` }];
  } finally {
    clearTimeout(timer);
    await scope.close();
  }
}
