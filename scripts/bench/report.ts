// The results as a console table and as bench/results.md.
import type { Machine } from './machine.js';
import type { HotFunction } from './profile.js';
import type { Row } from './row.js';

export function formatValue(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function verdict(r: Row): string {
  if (r.met === true) return 'met';
  if (r.met === false) return 'MISSED';
  return '';
}

const HEAD = ['section', 'metric', 'value', 'unit', 'target', 'met', 'note'];

function cells(r: Row): string[] {
  return [r.section, r.metric, formatValue(r.value), r.unit, r.target ?? '', verdict(r), r.note ?? ''];
}

export function consoleTable(rows: Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const width = HEAD.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const fmt = (c: string[]) =>
    c
      .map((s, i) => (i === 2 ? s.padStart(width[i]!) : i === c.length - 1 ? s : s.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(all[0]!), width.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(fmt)].join('\n');
}

function md(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function markdown(machine: Machine, rows: Row[], settings: string, profile: { file: string; totalMs: number; top: HotFunction[] } | null): string {
  const out = [
    '# warden benchmark results',
    '',
    `Written by \`npm run bench\` (scripts/bench.ts) on ${machine.date}.`,
    '',
    '| machine | |',
    '|---|---|',
    `| cores (nproc) | ${machine.nproc} |`,
    `| CPU | ${md(machine.cpuModel)} |`,
    `| memory | ${machine.memoryMiB} MiB |`,
    `| Node | ${machine.node} |`,
    `| warden runs as | ${machine.runtime} |`,
    `| warden's node flags | \`${machine.nodeFlags}\` |`,
    `| warden | ${md(machine.warden)} |`,
    `| disk readahead | ${md(machine.readahead)} |`,
    `| run | ${md(settings)} |`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => (i === 2 ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(md).join(' | ')} |`),
    '',
  ];
  if (profile) {
    out.push(
      `## warden CPU profile during the drain (top ${profile.top.length} by self time of ${(profile.totalMs / 1000).toFixed(1)} s)`,
      '',
      '| self ms | share | function | where |',
      '|---:|---:|---|---|',
      ...profile.top.map((f) => `| ${f.selfMs.toFixed(0)} | ${(f.share * 100).toFixed(1)}% | ${md(f.name)} | ${md(f.where)} |`),
      '',
    );
  }
  return out.join('\n');
}
