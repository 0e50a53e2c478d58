import { describe, expect, it } from 'vitest';
import { compileGlob, isInside } from '../../../agent/tail/glob.js';

const cases: Array<[string, string, boolean]> = [
  ['/var/log/containers/*.log', '/var/log/containers/a_b_c-1.log', true],
  ['/var/log/containers/*.log', '/var/log/containers/sub/a.log', false],
  ['/var/log/containers/*.log', '/var/log/containers/a.log.1', false],
  ['/var/lib/docker/containers/*/*-json.log', '/var/lib/docker/containers/abc/abc-json.log', true],
  ['/var/lib/docker/containers/*/*-json.log', '/var/lib/docker/containers/abc/abc-json.log.1', false],
  ['/var/log/?.log', '/var/log/a.log', true],
  ['/var/log/?.log', '/var/log/ab.log', false],
  ['/var/log/[ab]*.log', '/var/log/bx.log', true],
  ['/var/log/[!ab]*.log', '/var/log/bx.log', false],
  ['/var/log/[!ab]*.log', '/var/log/cx.log', true],
  ['/var/log/**/*.log', '/var/log/x.log', true],
  ['/var/log/**/*.log', '/var/log/a/b/c/x.log', true],
  ['/var/log/**', '/var/log/a/b', true],
  ['/var/log/syslog', '/var/log/syslog', true],
  ['/var/log/syslog', '/var/log/syslog2', false],
  ['/var/log/a.b', '/var/log/axb', false],
];

describe('compileGlob', () => {
  it.each(cases)('%s matches %s: %s', (glob, path, want) => {
    expect(compileGlob(glob).match(path)).toBe(want);
  });

  it('splits the fixed directory prefix and the walk depth', () => {
    expect(compileGlob('/var/log/containers/*.log')).toMatchObject({ prefix: '/var/log/containers', depth: 0 });
    expect(compileGlob('/var/lib/docker/containers/*/*-json.log')).toMatchObject({ prefix: '/var/lib/docker/containers', depth: 1 });
    expect(compileGlob('/var/log/**/*.log')).toMatchObject({ prefix: '/var/log', depth: Infinity });
    expect(compileGlob('/var/log/syslog')).toMatchObject({ prefix: '/var/log', depth: 0 });
  });
});

describe('isInside', () => {
  it('does not take a sibling with a common prefix for a child', () => {
    expect(isInside('/var/log/x', '/var/log')).toBe(true);
    expect(isInside('/var/log', '/var/log')).toBe(true);
    expect(isInside('/var/logs/x', '/var/log')).toBe(false);
    expect(isInside('/etc/shadow', '/')).toBe(true);
  });
});
