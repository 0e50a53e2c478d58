// `warden status` on a node with hundreds of files: the ones that lag, a sum of the rest, short
// paths, a Forward section, and no row wider than a terminal.
import { describe, expect, it } from 'vitest';
import { MAX_WIDTH, renderStatus, shortPath } from '../../../agent/health/client.js';

const id = (n: number) => n.toString(16).padStart(64, 'a');
const containerLog = (n: number) => `/var/log/containers/app-${n}-7d9f8c6b5-x2k4q_production-namespace_application-container-${id(n)}.log`;

function status(files: any[]) {
  return {
    version: '0.1.0',
    node_name: 'node-a',
    ready: { ok: false, reasons: ['acks are not flowing: oldest chunk pending for 42s, which is longer than anyone would like to wait for an ack'] },
    child: { state: 'ready', pid: 42, uptime_s: 3600, restarts: 1, degraded: false, last_exit: { reason: 'exited(1)', at: '2026-12-01T10:00:00.000Z' } },
    forward: { to: 'tcp://127.0.0.1:24224', connected: true, inflight: 3, max_inflight: 8, last_ack_at: '2026-12-01T11:00:00.000Z', last_ack_age_s: 0.4, oldest_pending_s: 42 },
    inputs: [
      { name: 'containers', paths: ['/var/log/containers/*.log'] },
      { name: 'host', paths: ['/var/log/*.log'] },
    ],
    lag_bytes: files.reduce((n, f) => n + f.lag, 0),
    files,
  };
}

describe('warden status, rendered', () => {
  const files = Array.from({ length: 300 }, (_, n) => ({
    path: containerLog(n),
    input: 'containers',
    offset: 1000,
    size: 1000 + (n % 100 === 7 ? 5000 : 0),
    lag: n % 100 === 7 ? 5000 + n : 0,
    state: 'active',
  }));
  files.push({ path: '/var/log/syslog.log', input: 'host', offset: 10, size: 2048, lag: 2038, state: 'active' });
  const text = renderStatus(status(files));
  const lines = text.split('\n');

  it('keeps every row under 100 columns', () => {
    for (const l of lines) expect(l.length, l).toBeLessThan(100);
    expect(MAX_WIDTH).toBeLessThan(100);
  });

  it('lists only the lagging files, most behind first, and sums up the rest', () => {
    const fileRows = lines.filter((l) => /^(containers|host) /.test(l));
    expect(fileRows).toHaveLength(4);
    expect(fileRows[0]).toContain('app-207-');
    expect(fileRows[3]).toMatch(/^host\s+syslog\.log\s/);
    expect(text).toMatch(/^FILES \(301, .*; 4 lagging\)$/m);
    expect(text).toMatch(/^and 297 files, 290\.0 KiB, none lagging/m);
  });

  it('shows paths from their input\'s directory, container ids cut', () => {
    expect(text).not.toContain('/var/log/containers/');
    expect(text).toMatch(/^containers  app-7-7d9f8c6b5-x2k4q_pro\S*…\S*aaaa….log /m);
    expect(shortPath(containerLog(1), ['/var/log/containers'], 200)).toBe(`app-1-7d9f8c6b5-x2k4q_production-namespace_application-container-${id(1).slice(0, 12)}….log`);
    expect(shortPath('/elsewhere/x.log', ['/var/log'])).toBe('/elsewhere/x.log');
  });

  it('has a Forward section: connected, chunks in flight, last ack age, oldest pending age', () => {
    const i = lines.indexOf('FORWARD');
    expect(i).toBeGreaterThan(0);
    expect(lines[i + 1]).toMatch(/^to\s+connected\s+in flight\s+last ack\s+oldest pending$/);
    expect(lines[i + 2]).toMatch(/^tcp:\/\/127\.0\.0\.1:24224\s+yes\s+3\/8\s+0\.4s ago\s+42s$/);
  });

  it('a quiet node: no file rows, one line', () => {
    const quiet = renderStatus(status(files.map((f) => ({ ...f, lag: 0, offset: f.size }))));
    expect(quiet).toMatch(/^FILES \(301, .*; none lagging\)\n\(warden status --json lists every file\)\n$/m);
  });
});
