// The single executable end to end: `dist/warden run` on a generated node tree with its own
// `warden sink` as the child, as the first process of a new PID namespace — under tini and as
// PID 1 itself — then SIGTERM: exit 0, every line delivered. No Node.js on PATH for the binary.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateTree, inputsFor } from '../../scripts/gen-logs.js';
import { freePort, readNdjson, tempDir, waitFor } from '../support/index.js';
import { skipNote } from '../support/skip.js';

const BINARY = resolve('dist/warden');
const pkg = JSON.parse(readFileSync(resolve('package.json'), 'utf8')) as { config: { nodeFlags: string } };

function skipReason(tini: boolean): string | null {
  if (!existsSync(BINARY)) return 'dist/warden is missing: run `npm run build:binary` first';
  if (process.getuid?.() !== 0) return 'needs root for `unshare --pid`';
  if (spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status !== 0) return '`unshare --pid --fork --mount-proc` is not available';
  if (tini && spawnSync('sh', ['-c', 'command -v tini']).status !== 0) return 'tini is not installed';
  return null;
}

function childOf(ppid: number): number | null {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === ppid) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

for (const tini of [true, false]) {
  const reason = skipReason(tini);
  const title = `dist/warden run as the first process of a PID namespace ${tini ? 'under tini' : 'as PID 1 itself'}: every line delivered, SIGTERM gives exit 0`;
  describe.skipIf(reason !== null)(`${title}${skipNote(reason)}`, () => {
    it('delivers the tree and stops cleanly', async () => {
      const t = tempDir('warden-bin-e2e-');
      try {
        const tree = generateTree({ root: join(t.dir, 'node'), seed: 11, pods: 3, dockerContainers: 2, hostFiles: 1, totalBytes: 1024 * 1024, longLineShare: 0.01 });
        const out = join(t.dir, 'out.ndjson');
        const fwd = await freePort();
        const health = await freePort();
        const cfg = join(t.dir, 'warden.json');
        writeFileSync(
          cfg,
          JSON.stringify({
            node_name: 'bin-node',
            state_dir: join(t.dir, 'state'),
            health: { listen: `127.0.0.1:${health}` },
            inputs: inputsFor(tree.root),
            tail: { read_from: 'head', roots: [join(tree.root, 'var/log'), join(tree.root, 'var/lib/docker/containers')], rescan_interval_ms: 200 },
            forward: { to: `tcp://127.0.0.1:${fwd}`, flush_interval_ms: 20 },
            child: { command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwd}`, '--out', out], stop_grace_s: 5 },
            budgets: { cpu_action: 'none', child: { cpu_millicores: 4000, memory_mib: 1024 }, agent: { cpu_millicores: 4000, memory_mib: 1024 } },
          }),
        );
        const argv = ['--pid', '--fork', '--mount-proc', ...(tini ? ['tini', '-s', '--'] : []), BINARY, 'run', '--config', cfg];
        // No Node.js: a PATH without the directory node lives in, and no other environment.
        const proc = spawn('unshare', argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: t.dir });
        let log = '';
        proc.stdout!.on('data', (d) => (log += d));
        proc.stderr!.on('data', (d) => (log += d));
        const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
        const want = tree.files.reduce((a, f) => a + f.lines, 0);
        await waitFor(
          `${want} records (log so far: ${log.slice(-500)})`,
          () => new Set(readNdjson(out).map((r) => /(?:^| )([a-z]+\d+#\d+) /.exec(r.record.log)?.[1])).size >= want,
          40000,
          200,
        );
        // The binary runs with the shipped V8 flags (package.json config.nodeFlags), with no node command line.
        type Status = { runtime: { exec_argv: string[] }; budgets: { usage: { node: { memTotalBytes: number; memAvailableBytes: number } | null } } };
        // The node figures come from the part of systeminformation the bundle carries (its memory
        // module alone): the binary reads them as the sources do. The first refresh runs in the
        // background at the governor's first tick.
        const status = await waitFor('node figures in /status', async () => {
          const s = (await (await fetch(`http://127.0.0.1:${health}/status`)).json()) as Status;
          return s.budgets.usage.node ? s : null;
        }, 10_000, 200);
        expect(status.runtime.exec_argv).toEqual(pkg.config.nodeFlags.split(' '));
        const memTotalKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
        expect(status.budgets.usage.node!.memTotalBytes).toBe(memTotalKb * 1024);
        expect(status.budgets.usage.node!.memAvailableBytes).toBeGreaterThan(0);
        const nsInit = childOf(proc.pid!);
        expect(nsInit).not.toBeNull();
        process.kill(nsInit!, 'SIGTERM');
        expect(await exit).toBe(0);
        expect(log).toContain('"msg":"stopped"');
        if (!tini) expect(log).toContain('PID 1');
      } finally {
        t.cleanup();
      }
    }, 60_000);
  });
}
