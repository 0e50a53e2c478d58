// A reload that changes what only a restart of warden can apply (forward.to, health.listen,
// budgets) names those keys and keeps their running values whole; the rest is applied.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../agent/health/metrics.js';
import { parseConfigText } from '../../../config/load.js';
import type { Config } from '../../../config/schema.js';
import { createLogger } from '../../../core/log.js';
import { keepRestartOnly, Reloader } from '../../../supervisor/reload.js';

const running = {
  forward: { to: 'tcp://127.0.0.1:24224' },
  health: { listen: '127.0.0.1:9880' },
  budgets: { cpu_sustain_s: 10, memory_sustain_s: 2 },
  log: { level: 'info' },
};
const edited = {
  forward: { to: 'tcp://127.0.0.1:24225' },
  health: { listen: '127.0.0.1:9881' },
  budgets: { cpu_sustain_s: 30, memory_sustain_s: 5 },
  log: { level: 'debug' },
};
const parse = (o: object): Config => parseConfigText(JSON.stringify(o), 'test.yaml', {});

describe('keepRestartOnly', () => {
  it('keeps forward.to, health and budgets at their running values, by key, and applies the rest', () => {
    const { config, kept } = keepRestartOnly(parse(running), parse(edited));
    expect(kept).toEqual(['health', 'budgets', 'forward.to']);
    expect(config.forward.to).toBe(running.forward.to);
    expect(config.health.listen).toBe(running.health.listen);
    // Not half of it: every budget field stays as it runs.
    expect(config.budgets).toEqual(parse(running).budgets);
    expect(config.log.level).toBe('debug');
  });

  it('names nothing when no restart-only key changed', () => {
    const { config, kept } = keepRestartOnly(parse(running), parse({ ...running, log: { level: 'warn' } }));
    expect(kept).toEqual([]);
    expect(config.log.level).toBe('warn');
  });
});

describe('Reloader', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('applies the live part of a file that also changes restart-only keys, and says which it kept', async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-reload-'));
    const path = join(dir, 'warden.yaml');
    writeFileSync(path, JSON.stringify(edited));
    const lines: { msg: string; key?: string }[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    const applied: Config[] = [];
    const reloader = new Reloader(
      {
        path,
        env: {},
        logger: createLogger('info', { stream, tty: false }),
        metrics: createMetrics({ defaults: false }),
        reloadChild: async () => ({ ok: true }),
        apply: (next) => void applied.push(next),
      },
      parse(running),
      null,
    );
    await reloader.request('signal');
    expect(applied).toHaveLength(1);
    expect(applied[0]!.forward.to).toBe(running.forward.to);
    expect(applied[0]!.health.listen).toBe(running.health.listen);
    expect(applied[0]!.budgets.cpu_sustain_s).toBe(running.budgets.cpu_sustain_s);
    expect(applied[0]!.log.level).toBe('debug');
    expect(reloader.last).toMatchObject({ ok: true, result: 'applied', trigger: 'signal', restart_needed: ['health', 'budgets', 'forward.to'] });
    const warned = lines.filter((l) => l.msg.includes('only a restart of warden applies it')).map((l) => l.key);
    expect(warned).toEqual(['health', 'budgets', 'forward.to']);
  });
});
