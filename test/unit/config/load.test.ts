import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError, expandEnv, loadConfig, parseConfigText, suggest } from '../../../config/load.js';
import { describeKeys } from '../../../config/schema.js';
import { configTextErrors as errorsOf } from '../../support/config.js';


describe('config loading', () => {
  it('applies every default to an empty file', () => {
    const c = parseConfigText('', 'empty.yaml', {});
    expect(c.state_dir).toBe('/var/lib/warden');
    expect(c.health.listen).toBe('0.0.0.0:9880');
    expect(c.inputs.map((i) => i.name)).toEqual(['containers', 'docker', 'host']);
    expect(c.tail.max_line_bytes).toBe(262144);
    expect(c.forward.to).toBe('tcp://127.0.0.1:24224');
    expect(c.child.command).toEqual(['fluentd', '--no-supervisor', '-c', '/etc/fluent/fluent.conf']);
    expect(c.child.restart.backoff_max_ms).toBe(30000);
    expect(c.budgets.cpu_action).toBe('throttle');
    expect(c.budgets.child).toBeUndefined();
    expect(c.node_name).toBe(hostname());
  });

  it('names a misspelt section, suggests the nearest key, and names a wrongly typed value', () => {
    const errors = errorsOf('tial:\n  read_from: end\nchild:\n  stop_grace_s: soon\n');
    expect(errors).toContain('tial: unknown key; did you mean tail? (got a mapping)');
    expect(errors.some((e) => e.startsWith('child.stop_grace_s: ') && e.endsWith('(got "soon")'))).toBe(true);
    expect(errors).toHaveLength(2);
  });

  it('suggests within nested sections and array elements', () => {
    const errors = errorsOf('inputs:\n  - { name: a, paths: [/var/log/*.log], fromat: plain }\nforward: { shared_kye: x }\n');
    expect(errors).toContain('inputs[0].fromat: unknown key; did you mean inputs[].format? (got a string)');
    expect(errors).toContain('forward.shared_kye: unknown key; did you mean forward.shared_key? (got a string)');
  });

  it('reports enum, range and cross-field errors with the value', () => {
    const errors = errorsOf(
      'tail: { read_from: middle, max_open_files: 0 }\nchild: { restart: { backoff_initial_ms: 5000, backoff_max_ms: 10 }, stop_signal: SIGNOPE }\nforward: { to: http://x }\n',
    );
    expect(errors.find((e) => e.startsWith('tail.read_from:'))).toMatch(/\(got "middle"\)$/);
    expect(errors.find((e) => e.startsWith('tail.max_open_files:'))).toMatch(/\(got 0\)$/);
    expect(errors.find((e) => e.startsWith('child.restart.backoff_max_ms:'))).toMatch(/backoff_max_ms must be >= backoff_initial_ms/);
    expect(errors.find((e) => e.startsWith('child.stop_signal:'))).toMatch(/\(got "SIGNOPE"\)$/);
    expect(errors.find((e) => e.startsWith('forward.to:'))).toMatch(/tcp:\/\/HOST:PORT/);
  });

  it('refuses duplicate input names and a missing paths list', () => {
    expect(errorsOf('inputs:\n  - { name: a, paths: [/x/*.log] }\n  - { name: a, paths: [/y/*.log] }\n')).toEqual([
      'inputs[1].name: is used by another input (got "a")',
    ]);
    const missing = errorsOf('inputs:\n  - { name: a }\n');
    expect(missing.find((e) => e.startsWith('inputs[0].paths:'))).toMatch(/is required \(got nothing\)/);
  });

  it('reads JSON as well as YAML, and reports syntax errors', () => {
    expect(parseConfigText('{"log": {"level": "debug"}}', 'c.json', {}).log.level).toBe('debug');
    expect(errorsOf('log: [unclosed')[0]).toMatch(/^\(file\): test\.yaml is not valid YAML or JSON: .* at line 1, column \d+$/);
    expect(errorsOf('- 1\n- 2\n')[0]).toMatch(/^\(root\): must be a mapping/);
  });

  it('expands ${ENV} and ${ENV:-default} in values only, and falls back to the hostname for node_name', () => {
    const c = parseConfigText('node_name: ${NODE_NAME}\nstate_dir: ${STATE:-/tmp/w}\n', 'x', { NODE_NAME: 'node-7' });
    expect(c.node_name).toBe('node-7');
    expect(c.state_dir).toBe('/tmp/w');
    expect(parseConfigText('node_name: ${NODE_NAME}\n', 'x', {}).node_name).toBe(hostname());
    // A variable's value is never parsed as YAML structure.
    expect(expandEnv({ a: '${X}' }, { X: '{b: 1}' })).toEqual({ a: '{b: 1}' });
  });

  it('resolves --config, then $WARDEN_CONFIG, and names an unreadable file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-config-'));
    try {
      const p = join(dir, 'w.yaml');
      writeFileSync(p, 'log: { level: warn }\n');
      expect(loadConfig(undefined, { WARDEN_CONFIG: p }).config.log.level).toBe('warn');
      expect(loadConfig(p, {}).source).toBe(p);
      try {
        loadConfig(join(dir, 'missing.yaml'), {});
        expect.unreachable();
      } catch (err) {
        expect((err as ConfigError).errors[0]).toContain('ENOENT');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('suggests only near keys', () => {
    const keys = describeKeys();
    expect(suggest('helth', keys)).toBe('health');
    expect(suggest('budgets.chlid', keys)).toBe('budgets.child');
    expect(suggest('completely_unrelated_thing', keys)).toBeNull();
  });
});
