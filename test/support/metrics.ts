// Reading prom-client metrics in tests: the sum of a metric's series whose labels match.
import type { Metrics } from '../../agent/health/metrics.js';

interface Readable {
  get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }>;
}

/** The sum of `c`'s series that carry every label of `labels` (all of them for `{}`). */
export async function counter(c: Readable, labels: Record<string, string> = {}): Promise<number> {
  const v = await c.get();
  return v.values.filter((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val)).reduce((a, x) => a + x.value, 0);
}

/** `counter` of the metric registered as `name`; 0 when there is none. */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = metrics.registry.getSingleMetric(name) as Readable | undefined;
  return m ? counter(m, labels) : 0;
}
