// The chaos node under `<dir>/node`: one CRI file behind its /var/log/containers symlink and one
// Docker json-file, and the warden config that tails them into a `warden sink`.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Source {
  key: string;
  kind: 'cri' | 'docker' | 'plain';
  /** The file the runtime writes to now. */
  path: string;
  seq: number;
  rotations: number;
  /** Bytes in the file the runtime writes to now. */
  bytes: number;
}

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function source(key: string, kind: Source['kind'], path: string): Source {
  writeFileSync(path, '');
  return { key, kind, path, seq: 0, rotations: 0, bytes: 0 };
}

/** Creates the two empty live files (names drawn from `r`) and returns them. */
export function makeSources(node: string, r: () => number): Source[] {
  const podDir = join(node, 'var/log/pods', `chaos_pod0_${hex(r, 8)}-${hex(r, 4)}`, 'app');
  mkdirSync(podDir, { recursive: true });
  mkdirSync(join(node, 'var/log/containers'), { recursive: true });
  const cri = source('cri0', 'cri', join(podDir, '0.log'));
  symlinkSync(cri.path, join(node, 'var/log/containers', `pod0_chaos_app-${hex(r, 64)}.log`));
  const id = hex(r, 64);
  mkdirSync(join(node, 'var/lib/docker/containers', id), { recursive: true });
  const docker = source('dock0', 'docker', join(node, 'var/lib/docker/containers', id, `${id}-json.log`));
  return [cri, docker];
}

export interface ChaosPorts {
  health: number;
  forward: number;
}

/**
 * warden's config for the run, as a user runs it: the shipped defaults for everything but what a
 * user must set (inputs, roots, state_dir, the health address, the child and the address it
 * listens on). No tuning of rescans, checkpoints, batches, restart backoff or budgets: the run
 * is as hard as the node it stands for.
 */
export function chaosConfig(dir: string, node: string, ports: ChaosPorts, out: string): Record<string, unknown> {
  return {
    state_dir: join(dir, 'state'),
    health: { listen: `127.0.0.1:${ports.health}` },
    inputs: [
      { name: 'containers', paths: [join(node, 'var/log/containers/*.log')], format: 'auto' },
      { name: 'docker', paths: [join(node, 'var/lib/docker/containers/*/*-json.log')], format: 'docker' },
      { name: 'host', paths: [join(node, 'var/log/*.log')], format: 'plain' },
    ],
    tail: { roots: [join(node, 'var/log'), join(node, 'var/lib/docker/containers')] },
    forward: { to: `tcp://127.0.0.1:${ports.forward}` },
    child: { command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${ports.forward}`, '--out', out] },
  };
}
