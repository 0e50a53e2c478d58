// freePort: the ports tests and the bench bind their sinks, receivers and health servers on. Two
// test files run at once (maxWorkers 2), so their blocks must not overlap, and none may lie in
// the kernel's ephemeral range, where `listen(0)` and outgoing connections take theirs.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, PORT_SPAN, portBlock } from '../../../scripts/lib/util.js';

describe('freePort', () => {
  it('gives each vitest worker, and any other process, its own block below the ephemeral range', () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const starts = [...['1', '2', '3', '4', '5', '6', '7', '8'].map(portBlock), portBlock(undefined)];
    expect(new Set(starts).size).toBe(9);
    const sorted = [...starts].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(PORT_SPAN);
    expect(sorted.at(-1)! + PORT_SPAN).toBeLessThanOrEqual(low!);
    expect(portBlock('not a number')).toBe(portBlock(undefined));
  });

  it('hands out a port of its block once, and skips one something listens on', async () => {
    const base = portBlock(process.env.VITEST_POOL_ID);
    const a = await freePort();
    const held = createServer();
    const next = a + 1 < base + PORT_SPAN ? a + 1 : base;
    await new Promise<void>((r) => held.listen(next, '127.0.0.1', () => r()));
    try {
      const got = new Set([a]);
      for (let i = 0; i < 20; i++) got.add(await freePort());
      expect(got.size).toBe(21);
      expect(got.has(next)).toBe(false);
      for (const p of got) expect(p >= base && p < base + PORT_SPAN, String(p)).toBe(true);
    } finally {
      held.close();
    }
  });
});
