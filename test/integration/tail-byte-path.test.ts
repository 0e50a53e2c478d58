// The byte path (Docker and CRI lines from the read buffer into the batch, no string or record) and
// the general path (parser, Reassembler, record encoder) ship the same bytes: the same files, read
// by the real pipeline once with the byte path on and once with it off (`bytePath: false`), give the
// same Forward entries per tag, byte for byte, and the same checkpoint offsets. Real files in a temp
// tree; the sender is an in-memory acking fake that keeps each chunk's entry bytes.
import { EventEmitter } from 'node:events';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeEntries } from '../../agent/forward/protocol.js';
import { createMetrics } from '../../agent/health/metrics.js';
import { TailPipeline } from '../../agent/tail/pipeline.js';
import { captureLogger, waitFor } from '../support/index.js';
import { tailConfig } from '../support/tail.js';
import { mutate, randomText, rng } from '../fixtures/parse/random.js';

const byteParses = vi.hoisted(() => ({ n: 0 }));
vi.mock('../../agent/parse/docker.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../agent/parse/docker.js')>();
  return { ...m, parseDockerBytes: (...a: Parameters<typeof m.parseDockerBytes>) => (byteParses.n++, m.parseDockerBytes(...a)) };
});
vi.mock('../../agent/parse/cri.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../agent/parse/cri.js')>();
  return { ...m, parseCriBytes: (...a: Parameters<typeof m.parseCriBytes>) => (byteParses.n++, m.parseCriBytes(...a)) };
});

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warden-bytepath-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Acks every chunk at once and keeps its entry bytes, per tag, in the order sent. */
class BytesSender extends EventEmitter {
  readonly byTag = new Map<string, Buffer[]>();

  send(tag: string, entries: Uint8Array, count: number): Promise<void> {
    if (decodeEntries(entries).length !== count) throw new Error(`count ${count} does not match the entries`);
    const list = this.byTag.get(tag) ?? [];
    list.push(Buffer.from(entries));
    this.byTag.set(tag, list);
    return Promise.resolve();
  }

  writable(): boolean {
    return true;
  }

  streams(): Map<string, Buffer> {
    return new Map([...this.byTag].sort(([a], [b]) => a.localeCompare(b)).map(([tag, bufs]) => [tag, Buffer.concat(bufs)]));
  }
}

const MAX_LINE = 1024;
const TIME = '2026-01-02T03:04:05.123456789Z';
const dockerLine = (log: string, stream = 'stdout', time = TIME) => JSON.stringify({ log, stream, time }) + '\n';
const criLine = (text: string, tag = 'F', stream = 'stdout', time = TIME) => `${time} ${stream} ${tag} ${text}\n`;

/** Every kind of line both paths must agree on, and seeded mutations of them. */
function writeInputs(dir: string): Record<string, string> {
  const next = rng(20261202);
  const docker = join(dir, 'docker', 'c-json.log');
  const cri = join(dir, 'cri', '0.log');
  const plain = join(dir, 'plain', 'host.log');
  for (const p of [docker, cri, plain]) mkdirSync(join(p, '..'), { recursive: true });
  const d: Buffer[] = [
    dockerLine('plain text\n'),
    dockerLine('{"level":"info","msg":"quoted \\"json\\"","n":1}\n', 'stderr'),
    dockerLine('tab\there é 😀 \u0001 control\n'),
    dockerLine('first half, '), // a partial: joined with the next line
    dockerLine('second half\n'),
    dockerLine('x'.repeat(MAX_LINE * 3) + '\n'), // cut at max_line_bytes
    dockerLine('no newline at all', 'stdout'),
    dockerLine('after a partial\n', 'stdout', '2026-01-02T03:04:05Z'),
    Buffer.from('{"log":"not closed\n'),
    Buffer.concat([Buffer.from('{"log":"bad utf8 '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('\\n","stream":"stdout","time":"' + TIME + '"}\n')]),
    Buffer.from(dockerLine('short NULs \u0000\u0000 inside\n')),
  ].map((x) => Buffer.from(x));
  const c: Buffer[] = [
    criLine('a full line'),
    criLine('part one, ', 'P'),
    criLine('part two, ', 'P', 'stderr'),
    criLine('part three', 'F', 'stderr'),
    criLine('y'.repeat(MAX_LINE * 2)),
    criLine('unicode é 😀 and \\ backslash'),
    'not a cri line\n',
    criLine('late', 'F', 'stdout', '2026-01-02T03:04:05.1Z'),
  ].map((x) => Buffer.from(x));
  c.push(Buffer.concat([Buffer.from(`${TIME} stdout F bad `), Buffer.from([0xe2, 0x82, 0x41, 0x00, 0x00]), Buffer.from('\n')]));
  const pl: Buffer[] = ['host line one\n', 'crlf line\r\n', 'z'.repeat(MAX_LINE * 2 + 17) + '\n', 'é'.repeat(MAX_LINE) + '\n'].map((x) => Buffer.from(x));
  pl.push(Buffer.concat([Buffer.from('invalid '), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from(' utf8\n')]));
  pl.push(Buffer.alloc(8192)); // a NUL run: skipped, counted, passed by the checkpoint
  pl.push(Buffer.from('after the NULs\n'));
  for (let i = 0; i < 300; i++) {
    d.push(Buffer.from(next() < 0.5 ? dockerLine(randomText(next, 80) + '\n', next() < 0.5 ? 'stdout' : 'stderr') : mutate(next, dockerLine(randomText(next, 40) + '\n'))));
    c.push(Buffer.from(next() < 0.5 ? criLine(randomText(next, 80).replace(/\n/g, ' '), next() < 0.2 ? 'P' : 'F') : mutate(next, criLine(randomText(next, 40)))));
  }
  // Every file ends in complete lines (the first ends any partial chain), so every byte can be
  // committed, and the last ones go by the byte path when it is on.
  for (let i = 0; i < 3; i++) {
    d.push(Buffer.from(dockerLine(`the end ${i}\n`)));
    c.push(Buffer.from(criLine(`the end ${i}`)));
  }
  appendFileSync(docker, Buffer.concat(d));
  appendFileSync(cri, Buffer.concat(c));
  appendFileSync(plain, Buffer.concat(pl));
  return { docker, cri, plain };
}

async function ship(bytePath: boolean): Promise<{ streams: Map<string, Buffer>; offsets: Record<string, number>; sizes: Record<string, number>; byteParses: number }> {
  const dir = join(root, bytePath ? 'on' : 'off');
  const files = writeInputs(dir);
  const stateDir = join(dir, 'state');
  const inputs = (['docker', 'cri', 'plain'] as const).map((format) => ({ name: format, paths: [join(dir, format, '*.log')], format }));
  const config = tailConfig(stateDir, [dir], inputs, { max_line_bytes: MAX_LINE, read_chunk_bytes: 4096 }, { batch_max_records: 7 });
  const sender = new BytesSender();
  byteParses.n = 0;
  // One wall clock reading for every record whose time is the read time (plain lines, raw lines).
  const p = new TailPipeline({ config, sender, logger: captureLogger().logger, metrics: createMetrics({ defaults: false }), host: 'h', now: () => 1_767_322_000_123, bytePath });
  await p.start();
  try {
    await waitFor(`every byte committed (byte path ${bytePath ? 'on' : 'off'})`, () => p.files().length === 3 && p.lagBytes() === 0, 20_000);
  } finally {
    await p.stop();
  }
  const cp = JSON.parse(readFileSync(join(stateDir, 'checkpoints.json'), 'utf8')) as { files: Array<{ path: string; offset: number }> };
  const name = (path: string) => Object.entries(files).find(([, f]) => f === path)![0];
  const offsets = Object.fromEntries(cp.files.map((e) => [name(e.path), e.offset]));
  const sizes = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readFileSync(f).length]));
  return { streams: sender.streams(), offsets, sizes, byteParses: byteParses.n };
}

describe('byte path on and off (in-memory acking sender)', () => {
  it('docker, CRI with P/F partials, plain, cut long lines, invalid UTF-8 and NULs: the same entries byte for byte, the same checkpoint offsets', async () => {
    const on = await ship(true);
    const off = await ship(false);
    expect(on.byteParses).toBeGreaterThan(300);
    expect(off.byteParses).toBe(0);
    expect([...off.streams.keys()]).toEqual([...on.streams.keys()]);
    expect(on.streams.size).toBe(3);
    for (const [tag, bytes] of on.streams) {
      // Decoded first, for a readable difference; then the bytes themselves.
      expect(decodeEntries(off.streams.get(tag)!), tag).toEqual(decodeEntries(bytes));
      expect(off.streams.get(tag)!.equals(bytes), tag).toBe(true);
    }
    expect(on.offsets).toEqual(on.sizes);
    expect(off.offsets).toEqual(on.offsets);
  }, 60_000);
});
