import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

describe('README in-flight bound', () => {
  it('states the default window and chunk size the schema has', () => {
    const f = configSchema.parse({}).forward;
    const kib = f.batch_max_bytes / 1024;
    expect(readme).toContain(`(${f.max_inflight_batches} × ${kib} KiB = ${(f.max_inflight_batches * kib) / 1024} MiB by default;`);
  });
});

describe('README exit codes', () => {
  it('lists exactly the codes warden can exit with', async () => {
    const { EXIT } = await import('../../../supervisor/exit-codes.js');
    const table = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('## Layout'));
    const codes = [...table.matchAll(/^\| (\d+|128\+N) \|/gm)].map((m) => m[1]);
    // 1: an internal error (an uncaught throw, or the health port cannot be bound); 128+N: signals.
    const possible = new Set([...Object.values(EXIT).map(String), '1', '128+N']);
    expect(codes.sort()).toEqual([...possible].sort());
    // 3 is reached through child.restart.give_up_after (test/integration/child-give-up.test.ts).
    expect(table).toMatch(/^\| 3 \| child given up: .*`child\.restart\.give_up_after`/m);
  });
});

describe('README layout', () => {
  const layout = readme.slice(readme.indexOf('## Layout'));
  const rowOf = (dir: string) => layout.split('\n').find((l) => l.startsWith(`| \`${dir}/\` |`));
  const root = new URL('../../../', import.meta.url).pathname;
  const sourceDirs = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => [`${dir}/${e.name}`, ...sourceDirs(`${dir}/${e.name}`)]);

  it('names every source folder: a row of its own, or its name in its parent folder\'s row', () => {
    const dirs = ['core', 'agent', 'supervisor', 'config', 'scripts', 'test'].flatMap((d) => [d, ...sourceDirs(d)]);
    const missing = dirs
      .filter((d) => d !== 'agent' && !/^test\/(unit|fixtures)\//.test(d) && !/^config\//.test(d))
      .filter((d) => {
        if (rowOf(d)) return false;
        const parent = d.slice(0, d.lastIndexOf('/'));
        const name = d.slice(d.lastIndexOf('/') + 1);
        const up = [parent, parent.slice(0, Math.max(0, parent.lastIndexOf('/')))].map(rowOf).find(Boolean);
        return !up || !new RegExp(`\`(?:[\\w-]+/)?${name}/`).test(up);
      });
    expect(missing).toEqual([]);
  });
});
