// Issue 15, generations and long chains: the real `warden run` with the real `warden sink` as its
// child, killed with -9 and restarted on the same state_dir.
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep, freePort, readNdjson, tempDir, waitFor } from '../support/index.js';
import { startWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

const TIME = '2024-05-06T07:08:09.123456789Z';

async function config(dir: string, out: string, tail: Record<string, unknown> = {}, format = 'cri') {
  const fwdPort = await freePort();
  return {
    node_name: 'test-node',
    state_dir: join(dir, 'state'),
    health: { listen: `127.0.0.1:${await freePort()}` },
    inputs: [{ name: 'app', paths: [join(dir, 'logs', '*.log')], format }],
    tail: { read_from: 'head', roots: [join(dir, 'logs')], rescan_interval_ms: 200, checkpoint_interval_ms: 50, ...tail },
    forward: { to: `tcp://127.0.0.1:${fwdPort}`, flush_interval_ms: 20 },
    child: {
      command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', join(dir, out)],
      stop_grace_s: 2,
      restart: { backoff_initial_ms: 100, backoff_max_ms: 1000, stable_after_s: 5 },
    },
  };
}

function checkpointOffset(dir: string, path: string): number {
  const file = join(dir, 'state', 'checkpoints.json');
  if (!existsSync(file)) return -1;
  try {
    const e = JSON.parse(readFileSync(file, 'utf8')).files.find((f: { path: string }) => f.path === path);
    return e ? e.offset : -1;
  } catch {
    return -1; // written meanwhile (it is replaced by a rename, but be lenient)
  }
}

/** The sink's records' text, joined in order. */
const shipped = (out: string) => readNdjson(out).map((r) => String(r.record.log)).join('');

describe('a long chain of CRI P fragments and kill -9', () => {
  it('acked pieces of the chain are committed: after kill -9 and restart, only the fragments after the checkpoint are sent again', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    mkdirSync(join(t.dir, 'logs'));
    const f = join(t.dir, 'logs', 'chain.log');
    // 600-byte fragments, 1 KiB pieces: every fragment's text is shipped within two pieces.
    const id = (i: number) => `<frag-${String(i).padStart(6, '0')}>`;
    const fragment = (i: number) => `${TIME} stdout P ${id(i)}${'x'.repeat(600 - id(i).length)}\n`;
    const offsetOf = (i: number) => i * Buffer.byteLength(fragment(0));
    // No partial flush during the test: only the chain's own pieces are shipped.
    const tail = { max_line_bytes: 1024, partial_flush_ms: 600_000 };
    writeFileSync(f, '');
    const w1 = (scope.running = await startWarden(t.dir, await config(t.dir, 'out1.ndjson', tail)));
    await waitFor('ready', async () => (await w1.get('/readyz')).status === 200);
    // Written slowly, in small appends, as a runtime writes a long line.
    for (let i = 0; i < 1000; i += 50) {
      appendFileSync(f, Array.from({ length: 50 }, (_, k) => fragment(i + k)).join(''));
      await sleep(20);
    }
    await waitFor('the first 990 fragments shipped', () => shipped(join(t.dir, 'out1.ndjson')).includes(id(990)), 30_000);
    await waitFor('the checkpoint inside the chain', () => checkpointOffset(t.dir, f) >= offsetOf(980), 30_000);
    await w1.kill();
    const committed = checkpointOffset(t.dir, f);
    const first = shipped(join(t.dir, 'out1.ndjson'));

    for (let i = 1000; i < 2000; i += 50) appendFileSync(f, Array.from({ length: 50 }, (_, k) => fragment(i + k)).join(''));
    appendFileSync(f, `${TIME} stdout F <end>\n`);
    const w2 = (scope.running = await startWarden(t.dir, await config(t.dir, 'out2.ndjson', tail)));
    await waitFor('the chain ends in the second run', () => shipped(join(t.dir, 'out2.ndjson')).includes('<end>'), 60_000);
    await w2.stop();
    const second = shipped(join(t.dir, 'out2.ndjson'));

    const ids = (s: string) => new Set(s.match(/<frag-\d{6}>/g) ?? []);
    const a = ids(first);
    const b = ids(second);
    for (let i = 0; i < 2000; i++) expect(a.has(id(i)) || b.has(id(i)), id(i)).toBe(true);
    const resent = [...b].filter((x) => a.has(x)).length;
    // The second run starts at the checkpoint: only what the first had shipped past it comes again.
    expect(second.startsWith(id(committed / offsetOf(1)))).toBe(true);
    expect(resent).toBeLessThanOrEqual(1000 - committed / offsetOf(1));
    expect(resent).toBeLessThan(25);
  }, 150_000);
});

describe('copytruncate regrown in one write with the same banner (first KiB equal)', () => {
  // An app that prints a banner longer than the fingerprint at start: both generations share their
  // first KiB; only the bytes before the offset tell them apart.
  const BANNER = `banner ${'='.repeat(1200)}\n`;
  const lines = (gen: string, n: number) => Array.from({ length: n }, (_, i) => `${gen}-${String(i).padStart(5, '0')}`);
  const body = (gen: string, n: number) => BANNER + lines(gen, n).join('\n') + '\n';
  const logs = (out: string) => readNdjson(out).map((r) => String(r.record.log));

  async function firstGeneration() {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    mkdirSync(join(t.dir, 'logs'));
    const f = join(t.dir, 'logs', 'app.log');
    writeFileSync(f, body('old', 200));
    const w = (scope.running = await startWarden(t.dir, await config(t.dir, 'out1.ndjson', {}, 'plain')));
    await waitFor('ready', async () => (await w.get('/readyz')).status === 200);
    await waitFor('the old generation shipped', () => logs(join(t.dir, 'out1.ndjson')).includes('old-00199'));
    await waitFor('its checkpoint at its end', () => checkpointOffset(t.dir, f) === readFileSync(f).length);
    return { t, f, w };
  }

  /** copytruncate, then the app writes its banner and more lines than before, all at once. */
  function regrow(f: string) {
    truncateSync(f, 0);
    appendFileSync(f, body('new', 400));
  }

  it('while warden runs: every line of the new generation arrives', async () => {
    const { t, f } = await firstGeneration();
    regrow(f);
    const out = join(t.dir, 'out1.ndjson');
    await waitFor('the new generation shipped', () => logs(out).includes('new-00399'));
    const got = logs(out).filter((l) => l.startsWith('new-'));
    expect(new Set(got)).toEqual(new Set(lines('new', 400)));
    await waitFor('the checkpoint at the new end', () => checkpointOffset(t.dir, f) === readFileSync(f).length);
    const entry = JSON.parse(readFileSync(join(t.dir, 'state', 'checkpoints.json'), 'utf8'));
    expect(entry.version).toBe(2);
    expect(entry.files[0]).toMatchObject({ tail_at: readFileSync(f).length, tail_len: 256 });
  }, 60_000);

  it('across a restart: the checkpoint of the old generation does not resume the new one', async () => {
    const { t, f, w } = await firstGeneration();
    await w.stop();
    regrow(f);
    scope.running = await startWarden(t.dir, await config(t.dir, 'out2.ndjson', {}, 'plain'));
    const out = join(t.dir, 'out2.ndjson');
    await waitFor('the new generation shipped', () => logs(out).includes('new-00399'));
    expect(logs(out)).toEqual([BANNER.slice(0, -1), ...lines('new', 400)]);
  }, 60_000);

  it('a version 1 checkpoint (no tail hash) still resumes its file where it stood', async () => {
    const { t, f, w } = await firstGeneration();
    await w.stop();
    const cp = join(t.dir, 'state', 'checkpoints.json');
    const doc = JSON.parse(readFileSync(cp, 'utf8'));
    const v1 = { version: 1, files: doc.files.map(({ tail_hash: _h, tail_len: _l, tail_at: _a, ...e }: Record<string, unknown>) => e) };
    writeFileSync(cp, JSON.stringify(v1));
    appendFileSync(f, 'after-restart\n');
    scope.running = await startWarden(t.dir, await config(t.dir, 'out2.ndjson', {}, 'plain'));
    await waitFor('the appended line shipped', () => logs(join(t.dir, 'out2.ndjson')).includes('after-restart'));
    expect(logs(join(t.dir, 'out2.ndjson'))).toEqual(['after-restart']);
  }, 60_000);
});
