import { describe, expect, it } from 'vitest';
import { childOutputPairs, compileRedaction, redact, redactWith } from '../../../supervisor/child/redact.js';

describe('what the child prints, as warden logs it', () => {
  const cmd = { run: ['fluentd', '--token=hunter2-xyz', '-c', '/etc/fluent/fluent.conf'], shown: ['fluentd', '--token=${TOKEN}', '-c', '/etc/fluent/fluent.conf'] };

  it("puts the command's references back, and the shared key warden handed it; other variables stay", () => {
    const pairs = childOutputPairs(cmd, { WARDEN_FORWARD_SHARED_KEY: 'k3y-generated-at-start', LOG_LEVEL: 'info', PORT: '24224' });
    const line = 'info: started with --token=hunter2-xyz, key k3y-generated-at-start, port 24224';
    expect(redactWith(line, pairs)).toBe('info: started with --token=${TOKEN}, key ${WARDEN_FORWARD_SHARED_KEY}, port 24224');
    expect(redact('token hunter2-xyz', cmd)).toBe('token ${TOKEN}');
  });

  it('replaces in one pass: what a value was replaced by is never searched again, and the longer of two values at one place wins', () => {
    const pairs: Array<[string, string]> = [['abcd-secret', '${A}'], ['{A}', '${B}'], ['abcd', '${C}']];
    expect(redactWith('x abcd-secret y abcd z', pairs)).toBe('x ${A} y ${C} z');
    const compiled = compileRedaction(pairs);
    for (const line of ['x abcd-secret y abcd z', 'nothing here', '']) expect(compiled(line)).toBe(redactWith(line, pairs));
    expect(compileRedaction([])('a line')).toBe('a line');
    // Values that are regular expression syntax are matched as text.
    expect(compileRedaction([['a.b*(c)', '${V}']])('a.b*(c) axbbc')).toBe('${V} axbbc');
  });
});

