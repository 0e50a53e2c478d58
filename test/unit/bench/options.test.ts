// `npm run bench` options: what warden runs as (the single executable by default, node for a CPU
// profile), and the command line each runtime gets.
import { describe, expect, it } from 'vitest';
import { benchRuntime, parseBenchArgs } from '../../../scripts/bench/options.js';
import { checkoutAt, ROOT, wardenCommand } from '../../../scripts/bench/warden.js';

describe('bench --runtime', () => {
  it('defaults to the single executable, and to node when profiling', () => {
    expect(benchRuntime(parseBenchArgs([]))).toBe('binary');
    expect(benchRuntime(parseBenchArgs(['--cpu-prof', '/tmp/p']))).toBe('node');
    expect(benchRuntime(parseBenchArgs(['--runtime', 'node']))).toBe('node');
  });

  it('refuses an unknown runtime, and a profile of the binary, naming the option', () => {
    expect(() => parseBenchArgs(['--runtime', 'bun'])).toThrow('--runtime: must be one of binary, node (got "bun")');
    expect(() => benchRuntime(parseBenchArgs(['--runtime', 'binary', '--cpu-prof', '/tmp/p']))).toThrow(/^--cpu-prof: needs --runtime node/);
  });

  it('runs the binary with its baked-in flags and extra ones in NODE_OPTIONS; node with both on the command line', () => {
    const node = checkoutAt(ROOT, 'node');
    const binary = checkoutAt(ROOT, 'binary');
    expect(node.nodeFlags.length).toBeGreaterThan(0);

    const n = wardenCommand(node, ['run', '--config', 'w.yaml'], ['--cpu-prof']);
    expect(n.argv).toEqual([process.execPath, ...node.nodeFlags, '--cpu-prof', node.program, 'run', '--config', 'w.yaml']);
    expect(n.env.NODE_OPTIONS).toBe(process.env.NODE_OPTIONS);

    const b = wardenCommand(binary, ['run', '--config', 'w.yaml'], ['--cpu-prof', '--cpu-prof-dir', '/tmp/p']);
    expect(b.argv).toEqual([binary.binary, 'run', '--config', 'w.yaml']);
    expect(b.env.NODE_OPTIONS?.split(' ').slice(-3)).toEqual(['--cpu-prof', '--cpu-prof-dir', '/tmp/p']);
    expect(wardenCommand(binary, ['--version']).env.NODE_OPTIONS).toBe(process.env.NODE_OPTIONS);
  });
});
