import { describe, expect, it } from 'vitest';
import { childOutputPairs, redact, redactWith } from '../../../supervisor/child/redact.js';

describe('what the child prints, as warden logs it', () => {
  const cmd = { run: ['fluentd', '--token=hunter2-xyz', '-c', '/etc/fluent/fluent.conf'], shown: ['fluentd', '--token=${TOKEN}', '-c', '/etc/fluent/fluent.conf'] };

  it("puts the command's references back, and the shared key warden handed it; other variables stay", () => {
    const pairs = childOutputPairs(cmd, { WARDEN_FORWARD_SHARED_KEY: 'k3y-generated-at-start', LOG_LEVEL: 'info', PORT: '24224' });
    const line = 'info: started with --token=hunter2-xyz, key k3y-generated-at-start, port 24224';
    expect(redactWith(line, pairs)).toBe('info: started with --token=${TOKEN}, key ${WARDEN_FORWARD_SHARED_KEY}, port 24224');
    expect(redact('token hunter2-xyz', cmd)).toBe('token ${TOKEN}');
  });
});
