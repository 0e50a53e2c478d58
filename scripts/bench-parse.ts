// Micro-benchmark of the docker json-file parser: parseDocker (fast path first) against the full
// JSON.parse path (parseDockerJson, which checks the same fields) and a bare JSON.parse, on the
// same generated lines, for three mixes of lines. Prints a table; not a test, numbers vary by
// machine and Node version.
//
//   npx tsx scripts/bench-parse.ts [lines]      (default 200000)

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseDocker, parseDockerJson } from '../agent/parse/docker.js';
import { Reassembler } from '../agent/parse/reassemble.js';

const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = 5;

type Mix = 'text' | 'escaped' | 'mixed';

/**
 * `text`: application lines without quotes or backslashes (the fast path's case); `escaped`:
 * JSON-in-JSON structured logs full of \" (the JSON path's case); `mixed`: 70% text, 28%
 * escaped, 2% 16 KiB partials as docker writes long lines.
 */
function generate(n: number, mix: Mix): string[] {
  const lines: string[] = [];
  const words = ['GET', '/api/v1/items', '200', 'ms=12', 'héllo', '😀', 'level=info', 'trace_id=4bf92f3577b34da6', 'user=bob'];
  let seed = 7;
  const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32;
  for (let i = 0; i < n; i++) {
    const parts: string[] = [];
    for (let w = 3 + Math.floor(next() * 25); w > 0; w--) parts.push(words[Math.floor(next() * words.length)]!);
    const text = parts.join(' ');
    const r = next();
    const kind = mix === 'mixed' ? (r < 0.02 ? 'long' : r < 0.3 ? 'escaped' : 'text') : mix;
    const log =
      kind === 'long' ? 'x'.repeat(16 * 1024) : kind === 'escaped' ? `${JSON.stringify({ level: 'info', msg: text, path: 'C:\\tmp' })}\n` : `${text}\n`;
    const nanos = String(Math.floor(next() * 1e9)).padStart(9, '0');
    lines.push(`{"log":${JSON.stringify(log)},"stream":"${i % 7 === 0 ? 'stderr' : 'stdout'}","time":"2026-11-27T18:00:${String(i % 60).padStart(2, '0')}.${nanos}Z"}`);
  }
  return lines;
}

function measure(name: string, lines: string[], fn: (line: string) => unknown): { name: string; linesPerSec: number } {
  let sink = 0;
  for (const l of lines.slice(0, 10_000)) if (fn(l)) sink++; // warm up
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (const l of lines) if (fn(l)) sink++;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  if (sink < 0) console.log(sink);
  return { name, linesPerSec: lines.length / best };
}

const PARSERS: Record<string, () => (line: string) => unknown> = {
  'JSON.parse alone': () => (l) => JSON.parse(l),
  'parseDocker (fast path first)': () => (l) => parseDocker(l, 0, 0),
  'parseDockerJson (JSON.parse + checks)': () => (l) => parseDockerJson(l, 0, 0),
  'parseDocker + Reassembler': () => {
    const r = new Reassembler(262_144);
    return (l) => r.push(parseDocker(l, 0, 0));
  },
};
const MIXES: Mix[] = ['text', 'escaped', 'mixed'];

if (process.argv[3] === '--one') {
  // Child: one parser on one mix, so JIT feedback and GC state of one run cannot skew another.
  const [mix, name] = [process.argv[4] as Mix, process.argv[5]!];
  const lines = generate(N, mix);
  const mib = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0) / 2 ** 20;
  const r = measure(name, lines, PARSERS[name]!());
  console.log(JSON.stringify({ linesPerSec: r.linesPerSec, mibPerSec: (r.linesPerSec * mib) / N }));
} else {
  console.log(`${N} generated docker lines per mix, best of ${ROUNDS} rounds, each in its own process, node ${process.version}\n`);
  console.log(`${'mix'.padEnd(8)} ${'parser'.padEnd(38)} ${'lines/s'.padStart(12)} ${'MiB/s'.padStart(8)} ${'vs JSON.parse'.padStart(14)}`);
  for (const mix of MIXES) {
    let base = 0;
    for (const name of Object.keys(PARSERS)) {
      const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), String(N), '--one', mix, name], { encoding: 'utf8' });
      const { linesPerSec, mibPerSec } = JSON.parse(out) as { linesPerSec: number; mibPerSec: number };
      base ||= linesPerSec;
      console.log(
        `${mix.padEnd(8)} ${name.padEnd(38)} ${Math.round(linesPerSec).toLocaleString('en-US').padStart(12)} ${mibPerSec.toFixed(1).padStart(8)} ${(linesPerSec / base).toFixed(2).padStart(13)}x`,
      );
    }
  }
}
