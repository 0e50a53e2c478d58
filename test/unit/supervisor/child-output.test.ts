import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../core/lines.js';
import { isContinuation, mapLevel, parseJsonLine } from '../../../supervisor/child-output.js';

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
