import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../agent/health/metrics.js';
import { LineSplitter } from '../../../core/lines.js';
import { ChildOutput, isContinuation, mapLevel, parseJsonLine, plainLineLevel } from '../../../supervisor/child-output.js';
import { captureLogger, waitFor } from '../../support/index.js';

describe('child output parts', () => {
  it('maps child levels by name and by pino number; unknown is null', () => {
    expect(['WARNING', 'err', 'crit', 'debug'].map(mapLevel)).toEqual(['warn', 'error', 'fatal', 'debug']);
    expect([10, 30, 50, 60].map(mapLevel)).toEqual(['trace', 'info', 'error', 'fatal']);
    expect(mapLevel('verbose')).toBeNull();
  });

  it('parses JSON objects only, renames warden\'s own keys, refuses deep nesting', () => {
    expect(parseJsonLine('{"severity":"ERROR","message":"m","pid":7,"x":1}')).toEqual({ level: 'error', msg: 'm', fields: { child_pid: 7, x: 1 } });
    expect(parseJsonLine('[1,2]')).toBeNull();
    expect(parseJsonLine('{not json}')).toBeNull();
    expect(parseJsonLine('{"a":'.repeat(20) + '1' + '}'.repeat(20))).toBeNull();
  });

  it('a fluentd plain log line has its level in brackets after the time; other text has none', () => {
    expect(plainLineLevel('2026-12-01 10:00:00 +0000 [warn]: #0 failed to flush the buffer. retry_times=1')).toBe('warn');
    expect(plainLineLevel('2026-12-01 10:00:00.123456789 -0500 [error]: unexpected error error_class=Errno::ECONNREFUSED')).toBe('error');
    expect(['trace', 'debug', 'info', 'fatal'].map((l) => plainLineLevel(`2026-12-01 10:00:00 +0000 [${l}]: m`))).toEqual(['trace', 'debug', 'info', 'fatal']);
    expect(plainLineLevel('[warn]: not after a time')).toBeNull();
    expect(plainLineLevel('2026-12-01 10:00:00 +0000 [verbose]: no such level')).toBeNull();
    expect(plainLineLevel('a plain line that mentions [error]: somewhere')).toBeNull();
  });

  it('continuation lines are indented or "Caused by:"', () => {
    expect(['    at f (a.js:1:1)', '\tfrom x.rb:1', 'Caused by: y'].every(isContinuation)).toBe(true);
    expect(['plain', '', '   '].some(isContinuation)).toBe(false);
  });

  it('discard drops whole lines and the line in progress, then splitting resumes at the next line', () => {
    const got: string[] = [];
    const s = new LineSplitter(100, (l) => got.push(l));
    s.write(Buffer.from('one\ntw'));
    expect(s.discard(Buffer.from('o\nthr'))).toBe(1);
    s.write(Buffer.from('ee\nfour\n'));
    expect(got).toEqual(['one', 'four']);
  });
});

describe('child output into warden\'s log', () => {
  it('a fluentd plain line is logged at its level with its text kept; JSON lines too; other text at info', async () => {
    const log = captureLogger('trace');
    const out = new ChildOutput(log.logger, createMetrics({ defaults: false }), 'fluentd', 10);
    const stream = out.stream('stdout');
    const warn = '2026-12-01 10:00:00 +0000 [warn]: #0 failed to flush the buffer. retry_times=1';
    const debug = '2026-12-01 10:00:01 +0000 [debug]: #0 flushing chunk';
    stream.write(Buffer.from(`${warn}\n${debug}\n{"level":"error","message":"from json"}\nplain text\n`));
    stream.end();
    await waitFor('four entries', () => (log.entries.length >= 4 ? log.entries : null));
    expect(log.entries.map((e) => [e.level, e.msg])).toEqual([
      ['warn', warn],
      ['debug', debug],
      ['error', 'from json'],
      ['info', 'plain text'],
    ]);
  });
});
