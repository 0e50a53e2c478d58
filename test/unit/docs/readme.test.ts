import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { configSchema, describeKeys } from '../../../config/schema.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Configuration reference'), readme.indexOf('## Exit codes'));
const rows = [...section.matchAll(/^\| `([^`]+)` \|\s*([^|]*?)\s*\|/gm)].map((m) => ({ key: m[1]!, def: m[2]!.trim() }));

function leafKeys(): string[] {
  const all = describeKeys();
  return all.filter((k) => !all.some((other) => other.startsWith(`${k}.`) || other.startsWith(`${k}[]`)));
}

function valueAt(obj: any, path: string): unknown {
  return path.split('.').reduce((v, k) => (v == null ? undefined : v[k]), obj);
}

describe('README configuration reference', () => {
  it('documents every leaf key of the schema, and no key the schema does not have', () => {
    const documented = rows.map((r) => r.key).sort();
    expect(documented).toEqual(leafKeys().sort());
  });

  it('states the schema defaults', () => {
    const defaults = configSchema.parse({});
    for (const { key, def } of rows) {
      if (key.includes('[]') || def === '' || def === 'derived' || def === 'hostname') continue;
      const actual = valueAt(defaults, key);
      const shown = def.replace(/^`|`$/g, '');
      const rendered = Array.isArray(actual) ? `[${actual.join(', ')}]` : typeof actual === 'object' ? JSON.stringify(actual) : String(actual);
      expect(`${key} = ${shown}`).toBe(`${key} = ${rendered}`);
    }
  });
});

describe('README exit codes', () => {
  it('lists only codes warden can exit with', async () => {
    const { EXIT } = await import('../../../supervisor/exit-codes.js');
    const table = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('## Layout'));
    const codes = [...table.matchAll(/^\| (\d+|128\+N) \|/gm)].map((m) => m[1]);
    // 1: an internal error (an uncaught throw, or the health port cannot be bound); 128+N: signals.
    const possible = new Set([...Object.values(EXIT).map(String), '1', '128+N']);
    expect(codes.length).toBeGreaterThan(0);
    for (const c of codes) expect(possible, `exit code ${c}`).toContain(c);
    expect(readme).not.toMatch(/child given up/);
  });
});
