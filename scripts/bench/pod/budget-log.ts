// The governor's transitions as warden logged them: pino JSON lines `budget state` with
// `resource` (pod.memory, child.memory, child.cpu, agent.memory, agent.cpu), `from` and `to`.
import { existsSync, readFileSync } from 'node:fs';

export interface TransitionCount {
  machine: string;
  from: string;
  to: string;
  count: number;
}

/** Every `budget state` line of the log at `file`, counted by machine and edge, in order of first appearance. */
export function budgetTransitions(file: string): TransitionCount[] {
  if (!existsSync(file)) return [];
  const counts = new Map<string, TransitionCount>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"budget state"')) continue;
    let rec: { msg?: string; resource?: string; from?: string; to?: string };
    try {
      rec = JSON.parse(line);
    } catch {
      continue;
    }
    if (rec.msg !== 'budget state' || !rec.resource) continue;
    const key = `${rec.resource} ${rec.from} ${rec.to}`;
    const c = counts.get(key) ?? { machine: rec.resource, from: String(rec.from), to: String(rec.to), count: 0 };
    c.count++;
    counts.set(key, c);
  }
  return [...counts.values()];
}

/** `pod.memory: normal → pressure (2) · …`, or `none`. */
export function formatTransitions(ts: TransitionCount[]): string {
  return ts.length ? ts.map((t) => `${t.machine}: ${t.from} → ${t.to} (${t.count})`).join(' · ') : 'none';
}
