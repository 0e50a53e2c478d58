// What sampling a child's process tree costs warden: spawns a tree of N idle processes (default
// 10), samples it every INTERVAL_MS (default 1000) for DURATION_S (default 20), and prints
// warden's own CPU per sample and as a share of one core, with and without PSS.
//   npx tsx scripts/bench-sampling.ts [--procs 10] [--interval-ms 1000] [--duration-s 20]
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { TreeSampler } from '../supervisor/budgets/proc.js';

const { values } = parseArgs({
  options: { procs: { type: 'string' }, 'interval-ms': { type: 'string' }, 'duration-s': { type: 'string' } },
});
const procs = Number(values.procs ?? 10);
const intervalMs = Number(values['interval-ms'] ?? 1000);
const durationS = Number(values['duration-s'] ?? 20);

// One group leader (sh) with procs − 1 idle children: the shape of fluentd's supervisor + workers.
const script = `${Array.from({ length: procs - 1 }, () => 'sleep 3600 &').join(' ')} wait`;
const leader = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
const pid = leader.pid!;
await new Promise((r) => setTimeout(r, 300));

interface Row { mode: string; samples: number; pids: number; cpuUsPerSample: number; wallMsPerSample: number; coreShare: number }
const rows: Row[] = [];

async function run(mode: string, pss: boolean, seconds: number): Promise<void> {
  const sampler = new TreeSampler({ pss, windowMs: 3 * intervalMs });
  let cpuUs = 0;
  let wallMs = 0;
  let n = 0;
  let pids = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const s = sampler.sample(pid);
    wallMs += performance.now() - w0;
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
    pids = s?.pids.length ?? 0;
    n++;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const perSample = cpuUs / n;
  rows.push({ mode, samples: n, pids, cpuUsPerSample: Math.round(perSample), wallMsPerSample: +(wallMs / n).toFixed(3), coreShare: perSample / 1000 / intervalMs });
}

try {
  await run('rss+pss', true, durationS / 2);
  await run('rss only', false, durationS / 2);
} finally {
  process.kill(-pid, 'SIGKILL');
}

console.log(`tree of ${procs} processes, sampled every ${intervalMs} ms (/proc has ${(await import('node:fs')).readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length} pids)`);
console.log('| mode | samples | pids | warden CPU per sample (µs) | wall per sample (ms) | % of a core |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.mode} | ${r.samples} | ${r.pids} | ${r.cpuUsPerSample} | ${r.wallMsPerSample} | ${(r.coreShare * 100).toFixed(3)}% |`);
const worst = Math.max(...rows.map((r) => r.coreShare));
console.log(worst < 0.01 ? `ok: under 1% of a core (worst ${(worst * 100).toFixed(3)}%)` : `OVER 1% of a core (worst ${(worst * 100).toFixed(3)}%)`);
