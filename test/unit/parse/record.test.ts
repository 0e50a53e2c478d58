import { describe, expect, it } from 'vitest';
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
});
