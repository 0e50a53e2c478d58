// A small path-glob matcher. Supported: `*` and `?` (never
// across `/`), `**` as a whole segment (zero or more directories), `[...]` / `[!...]` classes.
// Each glob is split into its fixed directory prefix (watched and walked) and the pattern below it.
import { posix } from 'node:path';

export interface CompiledGlob {
  readonly pattern: string;
  /** The longest leading run of segments without wildcards, as a directory: where to watch and walk. */
  readonly prefix: string;
  /** How many directory levels below `prefix` can match; Infinity with `**`. */
  readonly depth: number;
  readonly re: RegExp;
  match(path: string): boolean;
}

const WILD = /[*?[]/;

export function compileGlob(pattern: string): CompiledGlob {
  const norm = posix.normalize(pattern);
  const segs = norm.split('/').slice(1);
  let i = 0;
  while (i < segs.length - 1 && !WILD.test(segs[i]!)) i++;
  // A glob without wildcards names one file: its prefix is its directory.
  const fixed = WILD.test(segs[i] ?? '') ? segs.slice(0, i) : segs.slice(0, segs.length - 1);
  const prefix = '/' + fixed.join('/');
  const rest = segs.slice(fixed.length);
  const depth = rest.includes('**') ? Infinity : rest.length - 1;
  let src = '^' + escapeRe(prefix === '/' ? '' : prefix);
  rest.forEach((seg, n) => {
    const last = n === rest.length - 1;
    if (seg === '**') src += last ? '(?:/.*)?' : '(?:/[^/]+)*';
    else src += '/' + segmentRe(seg);
  });
  const re = new RegExp(src + '$');
  return { pattern, prefix, depth, re, match: (p: string) => re.test(p) };
}

function segmentRe(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, end);
      const neg = body[0] === '!' || body[0] === '^';
      if (neg) body = body.slice(1);
      out += '[' + (neg ? '^/' : '') + body.replace(/[\\\]^]/g, '\\$&') + ']';
      i = end;
    } else out += escapeRe(c);
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when `path` is `dir` or lies below it (both absolute and normalized). */
export function isInside(path: string, dir: string): boolean {
  if (dir === '/') return path.startsWith('/');
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : dir + '/');
}
