// Issue 7 item 4: hostile input through the real `warden run` → `warden sink`. Every hostile file
// sits next to a well-behaved control file; the outcome must be a flagged record or a clear log
// line, no crash, and the control file's lines keep arriving.
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor, logEntries, rssKb, readNdjson, sleep } from '../support/index.js';
import { wardenScope, spawnWarden } from '../support/warden.js';
import { controlLog, scopedFaultConfig, wardenConfig } from '../support/faults.js';

/** The last 4 KiB of a file, without reading 100 MiB each poll. */
function tailOf(path: string): string {
  if (!existsSync(path)) return '';
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(4096, size));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function vmHwmKb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const scope = wardenScope();


type Rec = { tag: string; time?: string; record: Record<string, any> };
const byTag = (recs: Rec[], tag: string) => recs.filter((r) => r.tag === tag);

describe('hostile input into warden run', () => {
  it('garbage, NUL, invalid UTF-8, CRLF, bad docker/CRI lines, odd names, a FIFO and a symlink loop: flagged or logged, no block, control keeps flowing', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-hostile-');
    const L = c.logs;
    mkdirSync(join(L, 'docker'));
    mkdirSync(join(L, 'cri'));
    c.inputs = [
      { name: 'host', paths: [join(L, '*.log')], format: 'plain' },
      { name: 'docker', paths: [join(L, 'docker', '*.log')], format: 'docker' },
      { name: 'cri', paths: [join(L, 'cri', '*.log')], format: 'cri' },
    ];
    // Seeded garbage: every byte value, a newline every 97 bytes so there are lines to ship.
    const garbage = Buffer.alloc(64 * 1024);
    let x = 12345;
    for (let i = 0; i < garbage.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      garbage[i] = i % 97 === 96 ? 10 : x & 0xff;
    }
    writeFileSync(join(L, 'garbage.log'), Buffer.concat([garbage, Buffer.from('\ngarbage-end\n')]));
    writeFileSync(join(L, 'nul.log'), Buffer.from('nul\u0000inside\u0000\nnul-end\n', 'latin1'));
    writeFileSync(join(L, 'utf8.log'), Buffer.concat([Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x21, 0x0a, 0xc3, 0x28, 0x0a, 0xe2, 0x82, 0x0a]), Buffer.from('utf8-end\n')]));
    writeFileSync(join(L, 'crlf.log'), 'crlf-1\r\ncrlf-2\r\n');
    writeFileSync(join(L, 'with space.log'), 'space-1\n');
    writeFileSync(join(L, 'new\nline.log'), 'newline-1\n');
    const time = '2024-05-06T07:08:09.123456789Z';
    writeFileSync(
      join(L, 'docker', 'd.log'),
      [
        JSON.stringify({ log: 42, stream: 'stdout', time }),
        JSON.stringify({ log: { nested: true }, stream: 'stdout', time }),
        JSON.stringify({ log: null, stream: 'stdout', time }),
        '{"log":"unterminated',
        JSON.stringify({ log: 'docker-ok\n', stream: 'stdout', time }),
      ].join('\n') + '\n',
    );
    writeFileSync(
      join(L, 'cri', 'c.log'),
      ['not-a-time stdout F bad-time', '2024-13-45T99:99:99Z stdout F bad-date', `${time} stdout X unknown-tag`, `${time} stdnah F bad-stream`, `${time} stdout F cri-ok`].join('\n') + '\n',
    );
    expect(spawnSync('mkfifo', [join(L, 'x.log')]).status).toBe(0);
    symlinkSync(join(L, 'b.log'), join(L, 'a.log'));
    symlinkSync(join(L, 'a.log'), join(L, 'b.log'));
    const control = controlLog(L);

    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await control.append(10, 100);
    const recs = await waitFor('every file shipped', () => {
      const r = readNdjson(c.out) as Rec[];
      const logs = new Set(r.map((x) => x.record.log));
      return ['control-10', 'garbage-end', 'nul-end', 'utf8-end', 'crlf-2', 'space-1', 'newline-1', 'docker-ok', 'cri-ok'].every((l) => logs.has(l)) ? r : null;
    }, 15000);
    const logs = (tag: string) => byTag(recs, tag).map((r) => r.record.log as string);
    // Garbage: one record per newline (empty lines too), nothing flagged, nothing lost.
    const garbageFile = Buffer.concat([garbage, Buffer.from('\ngarbage-end\n')]);
    expect(byTag(recs, 'host.garbage')).toHaveLength(garbageFile.filter((b) => b === 10).length);
    // NUL bytes are data: kept inside the record.
    expect(logs('host.nul')).toEqual(['nul\u0000inside\u0000', 'nul-end']);
    // Invalid UTF-8 becomes U+FFFD, never an exception or a dropped line.
    expect(logs('host.utf8')).toEqual(['bad\ufffd\ufffd!', '\ufffd(', '\ufffd', 'utf8-end']);
    // CRLF: the \r goes with the \n.
    expect(logs('host.crlf')).toEqual(['crlf-1', 'crlf-2']);
    expect(logs('host.with_space')).toEqual(['space-1']);
    expect(recs.filter((r) => r.record.log === 'newline-1')).toHaveLength(1);
    // docker JSON whose `log` is not a string (or not JSON at all): the raw line, flagged.
    const docker = byTag(recs, 'host.d');
    expect(docker.filter((r) => r.record.parse_error === true).map((r) => r.record.log)).toEqual([
      JSON.stringify({ log: 42, stream: 'stdout', time }),
      JSON.stringify({ log: { nested: true }, stream: 'stdout', time }),
      JSON.stringify({ log: null, stream: 'stdout', time }),
      '{"log":"unterminated',
    ]);
    expect(docker.find((r) => r.record.log === 'docker-ok')!.record.parse_error).toBeUndefined();
    // CRI with a bad timestamp, an unknown tag or stream: the raw line, flagged.
    const cri = byTag(recs, 'host.c');
    expect(cri.filter((r) => r.record.parse_error === true).map((r) => r.record.log)).toEqual([
      'not-a-time stdout F bad-time',
      '2024-13-45T99:99:99Z stdout F bad-date',
      `${time} stdout X unknown-tag`,
      `${time} stdnah F bad-stream`,
    ]);
    expect(cri.find((r) => r.record.log === 'cri-ok')!.time).toBe(time);
    // The FIFO is never opened (warden is not blocked, see control) and said so once.
    const fifoWarn = logEntries(w.stdout()).filter((l) => l.path === join(L, 'x.log'));
    expect(fifoWarn).toHaveLength(1);
    expect(fifoWarn[0]).toMatchObject({ level: 'warn', reason: 'not_regular', type: 'fifo' });
    const metrics = (await w.get('/metrics')).body;
    expect(metrics).toMatch(/warden_tail_refused_total\{reason="not_regular"\} 1\b/);
    expect(metrics).toMatch(/warden_parse_errors_total\{input="docker"\} 4\b/);
    expect(metrics).toMatch(/warden_parse_errors_total\{input="cri"\} 4\b/);
    // Control: every line, in order, and warden is still up and ready.
    expect(logs('host.control')).toEqual(control.lines(10));
    expect(w.proc.exitCode).toBeNull();
    expect((await w.get('/readyz')).status).toBe(200);
  }, 30000);

  it('a symlink loop a.log → b.log → a.log is logged once per link and counted as symlink_loop', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-hostile-');
    symlinkSync(join(c.logs, 'b.log'), join(c.logs, 'a.log'));
    symlinkSync(join(c.logs, 'a.log'), join(c.logs, 'b.log'));
    writeFileSync(join(c.logs, 'control.log'), 'control-0\n');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('control line', () => readNdjson(c.out).some((r) => r.record.log === 'control-0'), 15000);
    await sleep(500); // two more rescans
    expect(w.proc.exitCode).toBeNull();
    const about = logEntries(w.stdout()).filter((l) => [join(c.logs, 'a.log'), join(c.logs, 'b.log')].includes(l.path));
    // Once per link, not once per rescan.
    expect(about).toHaveLength(2);
    for (const l of about) expect(l).toMatchObject({ level: 'warn', reason: 'symlink_loop', code: 'ELOOP' });
    expect((await w.get('/metrics')).body).toMatch(/warden_tail_refused_total\{reason="symlink_loop"\} 2\b/);
  }, 30000);

  it('a 100 MiB line without newline: shipped in max_line_bytes pieces flagged truncated, warden RSS stays under 200 MiB, other files flow', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-hostile-');
    // Throughput is not the point here: the CPU budget must not throttle reading on a busy CI box.
    (c as unknown as Record<string, unknown>).budgets = { cpu_action: 'none' };
    const HUGE = 100 * 1024 * 1024;
    const huge = join(c.logs, 'huge.log');
    const chunk = Buffer.alloc(1024 * 1024, 0x78);
    for (let i = 0; i < HUGE / chunk.length; i++) appendFileSync(huge, chunk);
    const control = controlLog(c.logs);
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    const pid = w.proc.pid!;
    let peakKb = 0;
    const sample = setInterval(() => (peakKb = Math.max(peakKb, rssKb(pid) ?? 0)), 50);
    try {
      await control.append(5, 100);
      // The line's end arrives late; until then the last piece waits (it may yet be continued).
      await waitFor('most of the huge line in the sink', () => existsSync(c.out) && statSync(c.out).size > HUGE - 2 * 262144, 40000);
      appendFileSync(huge, '\nafter-huge\n');
      await waitFor('the line after it', () => tailOf(c.out).includes('"after-huge"'), 10000);
      const hwm = vmHwmKb(pid);
      peakKb = Math.max(peakKb, hwm ?? 0);
    } finally {
      clearInterval(sample);
    }
    const recs = readNdjson(c.out);
    const pieces = recs.filter((r) => r.tag === 'host.huge' && r.record.log !== 'after-huge');
    expect(pieces.reduce((n, r) => n + (r.record.log as string).length, 0)).toBe(HUGE);
    expect(pieces.every((r) => /^x+$/.test(r.record.log))).toBe(true);
    expect(pieces.every((r) => (r.record.log as string).length <= 262144)).toBe(true);
    expect(pieces.length).toBe(HUGE / 262144);
    expect(pieces.every((r) => r.record.truncated === true)).toBe(true);
    expect(recs.filter((r) => r.tag === 'host.control').map((r) => r.record.log)).toEqual(control.lines(5));
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb).toBeLessThan(200 * 1024);
    console.log(`100 MiB line: warden peak RSS ${Math.round(peakKb / 1024)} MiB, ${pieces.length} pieces`);
  }, 70000);
});
