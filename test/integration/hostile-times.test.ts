// Issue 15, times a Forward EventTime cannot hold (uint32 seconds: 1970-01-01 to
// 2106-02-07T06:28:15Z), through the real `warden run` → `warden sink`: a line dated 2200, 0001 or
// 1969 must not arrive wrapped around (as 2063, 2042, 2106) but with the read time, flagged.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNdjson, waitFor } from '../support/index.js';
import { scopedFaultConfig, wardenConfig } from '../support/faults.js';
import { spawnWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

describe('record times outside the EventTime range', () => {
  it('docker, CRI and host lines dated before 1970 or after 2106 arrive with the read time and time_out_of_range; the edges and ordinary times are kept', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-times-');
    for (const d of ['docker', 'cri']) mkdirSync(join(c.logs, d));
    c.inputs = [
      { name: 'host', paths: [join(c.logs, '*.log')], format: 'plain' },
      { name: 'docker', paths: [join(c.logs, 'docker', '*.log')], format: 'docker' },
      { name: 'cri', paths: [join(c.logs, 'cri', '*.log')], format: 'cri' },
    ];
    const docker = (log: string, time: string) => JSON.stringify({ log: `${log}\n`, stream: 'stdout', time });
    writeFileSync(
      join(c.logs, 'docker', 'd.log'),
      [docker('y2200', '2200-01-01T00:00:00Z'), docker('y1', '0001-01-01T00:00:00Z'), docker('y1969', '1969-12-31T23:59:59Z'), docker('last', '2106-02-07T06:28:15Z'), docker('ok', '2024-05-06T07:08:09.5Z')].join('\n') + '\n',
    );
    writeFileSync(join(c.logs, 'cri', 'c.log'), ['2200-01-01T00:00:00Z stdout F y2200', '1960-01-01T00:00:00Z stderr F y1960', '2024-05-06T07:08:09Z stdout F ok'].join('\n') + '\n');
    writeFileSync(join(c.logs, 'h.log'), ['2200-01-01T00:00:00Z far', '2024-05-06T07:08:09Z near'].join('\n') + '\n');

    const before = Date.now();
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    const recs = await waitFor('all ten lines', () => {
      const r = readNdjson(c.out);
      return r.length >= 10 ? r : null;
    }, 15_000);
    const after = Date.now();
    const by = (tag: string, log: string) => recs.find((r) => r.tag === tag && r.record.log === log)!;
    const readTime = (r: { time?: unknown }) => {
      const ms = Date.parse(String(r.time));
      return ms >= before - 1000 && ms <= after + 1000;
    };
    for (const [tag, log] of [['host.d', 'y2200'], ['host.d', 'y1'], ['host.d', 'y1969'], ['host.c', 'y2200'], ['host.c', 'y1960'], ['host.h', '2200-01-01T00:00:00Z far']] as const) {
      const r = by(tag, log);
      expect(r.record.time_out_of_range, `${tag} ${log}`).toBe(true);
      expect(readTime(r), `${tag} ${log} arrived at ${String(r.time)}`).toBe(true);
    }
    expect(by('host.d', 'last')).toMatchObject({ time: '2106-02-07T06:28:15.000000000Z' });
    expect(by('host.d', 'ok')).toMatchObject({ time: '2024-05-06T07:08:09.500000000Z' });
    expect(by('host.c', 'ok')).toMatchObject({ time: '2024-05-06T07:08:09.000000000Z' });
    expect(by('host.h', '2024-05-06T07:08:09Z near')).toMatchObject({ time: '2024-05-06T07:08:09.000000000Z' });
    for (const log of ['last', 'ok']) expect(by('host.d', log).record.time_out_of_range).toBeUndefined();
    expect(recs).toHaveLength(10);
    const body = (await w.get('/metrics')).body;
    expect(body).toMatch(/^warden_lines_time_out_of_range_total\{input="docker"\} 3$/m);
    expect(body).toMatch(/^warden_lines_time_out_of_range_total\{input="cri"\} 2$/m);
    expect(body).toMatch(/^warden_lines_time_out_of_range_total\{input="host"\} 1$/m);
  }, 30_000);
});
