// What keeping the child's secrets out of warden's log costs per line the child prints: the
// redaction compiled at a child start (compileRedaction) against the sequential search-and-split
// it replaced, for a fluentd-like command with one ${VAR} and the Forward shared key.
//   npx tsx scripts/bench-redact.ts [--lines 200000]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { childOutputPairs, compileRedaction } from '../supervisor/child/redact.js';

const { values } = parseArgs({ options: { lines: { type: 'string' } } });
const n = Number(values.lines ?? 200_000);
const cmd = { run: ['fluentd', '-c', '/etc/fluent/fluent.conf', '--token=s3cr3tT0ken'], shown: ['fluentd', '-c', '/etc/fluent/fluent.conf', '--token=${TOKEN}'] };
const pairs = childOutputPairs(cmd, { WARDEN_FORWARD_SHARED_KEY: randomBytes(32).toString('base64') });

/** What ran per line before: every value searched for, and split out, one after the other. */
const sequential = (text: string) => {
  let out = text;
  for (const [value, shown] of pairs) if (out.includes(value)) out = out.split(value).join(shown);
  return out;
};
const variants: Array<[string, (line: string) => string]> = [
  ['none (no secrets)', compileRedaction([])],
  ['sequential (before)', sequential],
  ['compiled (now)', compileRedaction(pairs)],
];
const lines: Array<[string, string]> = [
  ['info line, 75 B', '2026-12-01 10:00:00 +0000 [info]: #0 fluentd worker is now running worker=0'],
  ['warn line, 242 B', '2026-12-01 10:00:00 +0000 [warn]: #0 [out_es] failed to flush the buffer. retry_times=3 next_retry_time=2026-12-01 10:00:08 +0000 chunk="5f3a1b2c" error_class=Faraday::ConnectionFailed error="Connection refused - connect(2) for 10.0.0.1:9200"'],
  ['line with the token', '2026-12-01 10:00:00 +0000 [info]: #0 starting with --token=s3cr3tT0ken'],
  ['longest line, 16 KiB', `{"msg":"${'a1 b2 c3 '.repeat(2047)}"}`.slice(0, 16 * 1024)],
];

console.log(`| line | ${variants.map(([name]) => name).join(' | ')} |`);
console.log(`|---|${variants.map(() => '---:').join('|')}|`);
for (const [label, text] of lines) {
  // As the child's lines arrive: decoded from the bytes read (flat strings).
  const line = Buffer.from(text).toString('utf8');
  const cells = variants.map(([, f]) => {
    const rounds = line.length > 1000 ? Math.max(1, n / 20) : n;
    let sink = 0;
    for (let i = 0; i < 5000; i++) sink += f(line).length;
    // The least of several runs: the machine's other work only ever adds time.
    let best = Infinity;
    for (let run = 0; run < 7; run++) {
      const t = performance.now();
      for (let i = 0; i < rounds / 7; i++) sink += f(line).length;
      best = Math.min(best, ((performance.now() - t) * 1e6) / (rounds / 7));
    }
    if (sink === 0) throw new Error('unreachable');
    return `${best.toFixed(0)} ns`;
  });
  console.log(`| ${label} | ${cells.join(' | ')} |`);
}
