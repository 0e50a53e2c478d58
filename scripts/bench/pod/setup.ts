// What a pod row is: its kind and label, the programs it needs (fluentd, Fluent Bit), the
// environment every row of the section shares, and why a row cannot run here.
import { podUnavailable } from '../cgroup.js';
import { onPath, type CountingSink } from '../others.js';
import type { Scope } from '../row.js';
import type { DockerTree } from '../tree.js';
import type { Checkout } from '../warden.js';

export type PodKind = 'seed' | 'warden' | 'ceiling' | 'fluent-bit' | 'governor-off';
export const POD_KINDS: PodKind[] = ['seed', 'warden', 'ceiling', 'fluent-bit', 'governor-off'];

export const POD_LABELS: Record<PodKind, string> = {
  seed: 'seed: fluentd alone, in_tail (json) → out_forward (acks, file buffer)',
  warden: 'warden (shipped config and defaults) + fluentd child (shipped fluent.conf)',
  ceiling: 'ceiling: fluentd alone (shipped fluent.conf), fed by warden outside the budget',
  'fluent-bit': 'Fluent Bit alone, tail → forward (acks)',
  'governor-off': 'ceiling: warden pod with the governor off (large budgets, cpu_action none)',
};

export interface PodPrograms {
  fluentd: string | null;
  fluentBit: string | null;
  /** LD_PRELOAD for fluentd (jemalloc), where set. */
  fluentdPreload?: string;
}

/** fluentd and Fluent Bit from $FLUENTD / $FLUENT_BIT, else PATH. */
export function podPrograms(): PodPrograms {
  return {
    fluentd: process.env.FLUENTD || onPath('fluentd'),
    fluentBit: process.env.FLUENT_BIT || onPath('fluent-bit'),
    fluentdPreload: process.env.FLUENTD_LD_PRELOAD || undefined,
  };
}

export function fluentdEnv(programs: PodPrograms): Record<string, string> {
  return programs.fluentdPreload ? { LD_PRELOAD: programs.fluentdPreload } : {};
}

export interface PodEnv {
  scope: Scope;
  dir: string;
  tree: DockerTree;
  /** The /var/log/containers glob of the tree. */
  containersGlob: string;
  receiver: CountingSink;
  programs: PodPrograms;
  timeoutMs: number;
  /** Quick (smoke test): warden's child is `warden sink --count-only`, which is then the receiver. */
  sinkChild: boolean;
  nodeFlags?: string[];
  /** Whose warden (build, node flags, shipped configs) the warden rows run; this checkout's by default. */
  checkout?: Checkout;
}

/** Why `kind` cannot run with these programs, or null. */
export function podSkip(kind: PodKind, env: Pick<PodEnv, 'programs' | 'sinkChild'>): string | null {
  const unavailable = podUnavailable();
  if (unavailable) return unavailable;
  if (env.sinkChild) return kind === 'warden' ? null : 'quick run: only the warden pod, with a sink child';
  if (kind === 'fluent-bit') return env.programs.fluentBit ? null : 'fluent-bit not on PATH (nor $FLUENT_BIT)';
  return env.programs.fluentd ? null : 'fluentd not on PATH (nor $FLUENTD)';
}
