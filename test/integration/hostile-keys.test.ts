// Issue 15 item 5, keys: a Docker line whose attrs hold `__proto__` (or `constructor`,
// `prototype`) through the real `warden run` → `warden sink`. fluentd takes such a record; so
// must the sink, and it must not stop the files around it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logEntries, readNdjson, waitFor } from '../support/index.js';
import { controlLog, scopedFaultConfig, wardenConfig } from '../support/faults.js';
import { spawnWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

describe('map keys that are JavaScript prototype names', () => {
  it('a Docker attrs key __proto__, constructor or prototype ships as an attribute, and every file keeps flowing', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-keys-');
    mkdirSync(join(c.logs, 'docker'));
    c.inputs = [
      { name: 'host', paths: [join(c.logs, '*.log')], format: 'plain' },
      { name: 'docker', paths: [join(c.logs, 'docker', '*.log')], format: 'docker' },
    ];
    const time = '2024-05-06T07:08:09.123456789Z';
    const line = (log: string, attrs?: string) => `{"log":"${log}\\n","stream":"stdout",${attrs ? `"attrs":${attrs},` : ''}"time":"${time}"}`;
    writeFileSync(
      join(c.logs, 'docker', 'd.log'),
      [
        line('before'),
        line('proto', '{"__proto__":"p","k":"v"}'),
        line('ctor', '{"constructor":"c","prototype":"t"}'),
        line('after'),
      ].join('\n') + '\n',
    );
    const control = controlLog(c.logs);

    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await control.append(5, 100);
    const recs = await waitFor('the docker file and the control file shipped', () => {
      const r = readNdjson(c.out);
      const logs = new Set(r.map((x) => x.record.log));
      return ['after', 'control-5'].every((l) => logs.has(l)) ? r : null;
    }, 15000);
    const docker = recs.filter((r) => r.tag === 'host.d');
    expect(docker.map((r) => r.record.log)).toEqual(['before', 'proto', 'ctor', 'after']);
    const proto = docker[1]!.record.attrs as Record<string, string>;
    expect(Object.keys(proto)).toEqual(['__proto__', 'k']);
    expect(Object.getOwnPropertyDescriptor(proto, '__proto__')?.value).toBe('p');
    expect(docker[2]!.record.attrs).toEqual({ constructor: 'c', prototype: 't' });
    expect(docker.every((r) => r.record.parse_error === undefined)).toBe(true);
    expect(recs.filter((r) => r.tag === 'host.control').map((r) => r.record.log)).toEqual(control.lines(5));
    // One connection all along: the sink never refused a chunk.
    expect(logEntries(w.stdout()).filter((l) => /malformed input|Forward connection lost/.test(String(l.msg)))).toEqual([]);
    expect((await w.get('/readyz')).status).toBe(200);
  }, 30000);
});
