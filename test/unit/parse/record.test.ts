import { describe, expect, it } from 'vitest';
import { parseDocker } from '../../../agent/parse/docker.js';
import { buildRecord } from '../../../agent/parse/record.js';

const k8s = { namespace_name: 'ns', pod_name: 'pod', pod_uid: 'uid-1', container_name: 'app' };

describe('buildRecord', () => {
  it('a Kubernetes line: log, stream, kubernetes, host; no flags when none is true', () => {
    const r = buildRecord({ sec: 1, nsec: 2, stream: 'stderr', log: 'hi' }, { k8s, host: 'node-1' });
    expect(r).toStrictEqual({ log: 'hi', stream: 'stderr', kubernetes: k8s, host: 'node-1' });
    expect(Object.keys(r)).toStrictEqual(['log', 'stream', 'kubernetes', 'host']);
  });

  it('flags and attrs only when set; an unknown pod uid is left out', () => {
    const r = buildRecord(
      { sec: 1, nsec: 2, stream: 'stdout', log: 'x', partial: true, truncated: true, parse_error: true, attrs: { a: 'b' } },
      { k8s: { ...k8s, pod_uid: '' }, dockerId: 'c0ffee', host: 'h' },
    );
    expect(r).toStrictEqual({
      log: 'x', stream: 'stdout', kubernetes: { namespace_name: 'ns', pod_name: 'pod', container_name: 'app' }, docker: { container_id: 'c0ffee' },
      host: 'h', partial: true, truncated: true, parse_error: true, attrs: { a: 'b' },
    });
  });

  it('a host line has neither kubernetes nor docker; empty attrs are not sent', () => {
    expect(buildRecord({ sec: 1, nsec: 2, stream: 'stdout', log: '', attrs: {} }, { k8s: null, dockerId: null, host: 'h' })).toStrictEqual({ log: '', stream: 'stdout', host: 'h' });
  });

  it('attrs named __proto__, constructor or prototype stay attributes, also when another attr must be made well formed', () => {
    const time = '2026-11-27T18:00:00Z';
    for (const other of ['plain', 'lone \\ud800 surrogate']) {
      const line = `{"log":"x\\n","stream":"stdout","attrs":{"__proto__":"p","constructor":"c","prototype":"t","k":"${other}"},"time":"${time}"}`;
      const f = parseDocker(line, 0, 0);
      expect(f.parseError).toBeUndefined();
      const r = buildRecord({ sec: f.sec, nsec: f.nsec, stream: f.stream, log: f.content, attrs: f.attrs }, { host: 'h' });
      const attrs = r.attrs as Record<string, string>;
      expect(Object.keys(attrs), other).toEqual(['__proto__', 'constructor', 'prototype', 'k']);
      expect(Object.getPrototypeOf(attrs)).toBe(Object.prototype);
      expect(JSON.stringify(attrs)).toBe(JSON.stringify({ ['__proto__']: 'p', constructor: 'c', prototype: 't', k: other.replace('\\ud800', '\ufffd') }));
    }
  });
});
