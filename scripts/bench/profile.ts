// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, top N.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

/** Maps a position in a bundle (dist/warden.mjs) back to its source file through `<file>.map`. */
function sourceMapper(): (file: string, line: number, column: number) => { file: string; line: number } | null {
  const maps = new Map<string, SourceMap | null>();
  return (file, line, column) => {
    if (!maps.has(file)) {
      const mapFile = file + '.map';
      maps.set(file, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : null);
    }
    const map = maps.get(file);
    const e = map?.findEntry(line, column) as { originalSource?: string; originalLine?: number } | undefined;
    if (!e?.originalSource) return null;
    return { file: resolve(dirname(file), e.originalSource.replace(/^file:\/\//, '')), line: (e.originalLine ?? 0) + 1 };
  };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

export function topSelfTime(path: string, n = 15, root = process.cwd()): { totalMs: number; top: HotFunction[] } {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const self = new Map<string, { name: string; where: string; us: number }>();
  const mapped = sourceMapper();
  let total = 0;
  prof.samples.forEach((id, i) => {
    // A sample's delta is the time up to it: attribute it to the function sampled.
    const dt = prof.timeDeltas[i] ?? 0;
    total += dt;
    const cf = byId.get(id)?.callFrame;
    if (!cf) return;
    const file = cf.url.replace(/^file:\/\//, '');
    const src = file.startsWith('/') ? mapped(file, cf.lineNumber, cf.columnNumber) : null;
    const shown = src ?? { file, line: cf.lineNumber + 1 };
    const where = file ? `${shown.file.startsWith('/') ? relative(root, shown.file) : shown.file}:${shown.line}` : '';
    const name = cf.functionName || '(anonymous)';
    const key = `${name}@${where}`;
    const e = self.get(key) ?? { name, where, us: 0 };
    e.us += dt;
    self.set(key, e);
  });
  const top = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, share: total ? e.us / total : 0 }));
  return { totalMs: total / 1000, top };
}
