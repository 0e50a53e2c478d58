import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CursorStore, positionOf } from '../../../agent/journal/cursor.js';
import { captureLogger } from '../../support/index.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'warden-cursor-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('journal cursor store', () => {
  it('writes atomically into state_dir and reads back; nothing saved is a first start', async () => {
    const { logger } = captureLogger('silent');
    const s = new CursorStore(dir, 'node', logger, () => 0);
    expect(await s.load()).toEqual({ doc: null, corrupt: false });
    expect(await s.write({ cursor: 's=1;i=2', since_s: null })).toBe(true);
    expect(readdirSync(dir)).toEqual(['journal-node.json']);
    const { doc } = await new CursorStore(dir, 'node', logger).load();
    expect(doc).toMatchObject({ version: 1, cursor: 's=1;i=2', since_s: null });
    expect(positionOf(doc!)).toEqual({ cursor: 's=1;i=2' });
    expect(positionOf({ ...doc!, cursor: null, since_s: 5 })).toEqual({ sinceS: 5 });
    expect(positionOf({ ...doc!, cursor: null })).toEqual({ head: true });
  });

  it('recovers from the temp file when a write was cut between the steps', async () => {
    const { logger, lines } = captureLogger('warn');
    writeFileSync(join(dir, 'journal-node.json.tmp'), JSON.stringify({ version: 1, cursor: 's=9', since_s: null, updated: 'x' }));
    expect((await new CursorStore(dir, 'node', logger).load()).doc?.cursor).toBe('s=9');
    expect(lines.join('')).toContain('recovered from its temp file');
  });

  it('a corrupt or foreign file is kept aside and reading starts at the head', async () => {
    const { logger, lines } = captureLogger('warn');
    for (const text of ['{"version":1,"cursor":', JSON.stringify({ version: 2, cursor: 'x' }), JSON.stringify({ version: 1, cursor: 'a\nb', since_s: null })]) {
      writeFileSync(join(dir, 'journal-node.json'), text);
      expect(await new CursorStore(dir, 'node', logger, () => 7).load()).toEqual({ doc: null, corrupt: true });
      expect(readFileSync(join(dir, 'journal-node.json.corrupt-7'), 'utf8')).toBe(text);
    }
    expect(lines.join('')).toContain('reading starts at the head of the journal');
  });

  it('reports a failed write and retries, never throws', async () => {
    const { logger } = captureLogger('silent');
    writeFileSync(join(dir, 'file'), '');
    const s = new CursorStore(join(dir, 'file'), 'node', logger);
    expect(await s.write({ cursor: 's=1', since_s: null })).toBe(false);
    expect(s.healthy()).toMatchObject({ ok: false, error: expect.stringContaining('journal-node.json') });
  });
});
