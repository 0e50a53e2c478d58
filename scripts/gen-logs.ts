// Generates a realistic node log tree, deterministic from a seed:
//   <root>/var/log/pods/<ns>_<pod>_<uid>/<container>/0.log      CRI lines, some split P…F
//   <root>/var/log/containers/<pod>_<ns>_<container>-<id>.log  absolute symlinks into pods/
//   <root>/var/lib/docker/containers/<id>/<id>-json.log         Docker json-file, long lines split at 16 KiB
//   <root>/var/log/<name>.log                                    plain host logs
// Every logical line carries a unique marker `<file-key>#<seq>` so a consumer can check delivery.
//
//   npm run gen-logs -- --out /tmp/tree --mib 64 [--seed 1] [--pods 20] [--docker 10] [--host 3]
import { mkdirSync, symlinkSync, openSync, writeSync, closeSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rng } from './lib/util.js';

export { rng };

export interface TreeOptions {
  root: string;
  seed?: number;
  pods?: number;
  dockerContainers?: number;
  hostFiles?: number;
  /** Approximate total size of all files. */
  totalBytes?: number;
  /** Share of logical lines that are long enough to be split (16 KiB Docker partials, CRI P…F). */
  longLineShare?: number;
}

export interface GeneratedFile {
  /** The path a tailer discovers (the /var/log/containers symlink for CRI). */
  path: string;
  /** Where the bytes live (the /var/log/pods target for CRI). */
  target: string;
  format: 'cri' | 'docker' | 'plain';
  key: string;
  tag: string;
  lines: number;
  bytes: number;
}

export interface GeneratedTree {
  root: string;
  files: GeneratedFile[];
  lines: number;
  bytes: number;
}


const WORDS = 'GET POST request served user cache miss hit order processed latency ms status ok error retry upstream connection pool worker queued job done timeout'.split(' ');

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function sentence(r: () => number, bytes: number): string {
  let s = '';
  while (s.length < bytes) s += WORDS[Math.floor(r() * WORDS.length)] + ' ';
  return s.slice(0, bytes);
}

function rfc3339(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(ms).toISOString().slice(0, 19) + '.' + frac + 'Z';
}

class Out {
  private fd: number;
  private buf: string[] = [];
  private size = 0;
  bytes = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'a');
  }
  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    this.bytes += Buffer.byteLength(s);
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.buf.length) writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** One logical line as the runtime writes it: Docker json-file (split at 16 KiB) or CRI (split P…F). */
export function dockerLines(text: string, stream: string, timeNs: bigint): string {
  const time = rfc3339(timeNs);
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += 16384) parts.push(text.slice(i, i + 16384));
  if (parts.length === 0) parts.push('');
  return parts.map((p, i) => JSON.stringify({ log: p + (i === parts.length - 1 ? '\n' : ''), stream, time }) + '\n').join('');
}

export function criLines(text: string, stream: string, timeNs: bigint, maxPart = 16384): string {
  const time = rfc3339(timeNs);
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += maxPart) parts.push(text.slice(i, i + maxPart));
  if (parts.length === 0) parts.push('');
  return parts.map((p, i) => `${time} ${stream} ${i === parts.length - 1 ? 'F' : 'P'} ${p}\n`).join('');
}

/** The i-th pod's CRI file in /var/log/pods and its /var/log/containers link (not made yet). */
function criFile(root: string, i: number, r: () => number): GeneratedFile {
  const ns = ['default', 'kube-system', 'shop', 'payments'][i % 4]!;
  const pod = `app-${hex(r, 5)}-${i}`;
  const uid = `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}`;
  const container = i % 3 === 0 ? 'sidecar' : 'main';
  const id = hex(r, 64);
  const dir = join(root, 'var/log/pods', `${ns}_${pod}_${uid}`, container);
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(root, 'var/log/containers'), { recursive: true });
  const link = join(root, 'var/log/containers', `${pod}_${ns}_${container}-${id}.log`);
  return { path: link, target: join(dir, '0.log'), format: 'cri', key: `cri${i}`, tag: `kube.${ns}.${pod}.${container}`, lines: 0, bytes: 0 };
}

/** The i-th Docker container's json-file log. */
function dockerFile(root: string, i: number, r: () => number): GeneratedFile {
  const id = hex(r, 64);
  const dir = join(root, 'var/lib/docker/containers', id);
  mkdirSync(dir, { recursive: true });
  const target = join(dir, `${id}-json.log`);
  return { path: target, target, format: 'docker', key: `dock${i}`, tag: `docker.${id}`, lines: 0, bytes: 0 };
}

/** The i-th host file in /var/log. */
function hostFile(root: string, i: number): GeneratedFile {
  const name = ['syslog', 'auth', 'kern', 'daemon', 'messages'][i % 5]! + (i >= 5 ? String(i) : '');
  mkdirSync(join(root, 'var/log'), { recursive: true });
  const target = join(root, 'var/log', `${name}.log`);
  return { path: target, target, format: 'plain', key: `host${i}`, tag: `host.${name}`, lines: 0, bytes: 0 };
}

export function generateTree(opts: TreeOptions): GeneratedTree {
  const r = rng(opts.seed ?? 1);
  const pods = opts.pods ?? 20;
  const docker = opts.dockerContainers ?? 10;
  const host = opts.hostFiles ?? 3;
  const total = opts.totalBytes ?? 8 * 1024 * 1024;
  const longShare = opts.longLineShare ?? 0.002;
  const root = opts.root;
  const files: GeneratedFile[] = [];
  const nFiles = pods + docker + host;
  const perFile = Math.max(1024, Math.floor(total / Math.max(1, nFiles)));
  let t = 1_780_000_000_000_000_000n;

  const fill = (file: GeneratedFile, emit: (text: string, stream: string, ns: bigint) => string) => {
    const out = new Out(file.target);
    let seq = 0;
    while (out.bytes < perFile) {
      const long = r() < longShare;
      const len = long ? 20_000 + Math.floor(r() * 30_000) : 120 + Math.floor(r() * 70);
      const marker = `${file.key}#${seq}`;
      const text = `${marker} ${sentence(r, Math.max(0, len - marker.length - 1))}`;
      t += BigInt(1 + Math.floor(r() * 1_000_000));
      out.write(emit(text, r() < 0.8 ? 'stdout' : 'stderr', t));
      seq++;
    }
    out.close();
    file.lines = seq;
    file.bytes = out.bytes;
  };

  for (let i = 0; i < pods; i++) {
    const file = criFile(root, i, r);
    fill(file, (text, stream, tns) => criLines(text, stream, tns));
    symlinkSync(file.target, file.path);
    files.push(file);
  }
  for (let i = 0; i < docker; i++) {
    const file = dockerFile(root, i, r);
    fill(file, dockerLines);
    files.push(file);
  }
  for (let i = 0; i < host; i++) {
    const file = hostFile(root, i);
    fill(file, (text, _s, tns) => `${rfc3339(tns)} node ${text}\n`);
    files.push(file);
  }
  return { root, files, lines: files.reduce((a, f) => a + f.lines, 0), bytes: files.reduce((a, f) => a + f.bytes, 0) };
}

/** The warden inputs that tail a generated tree. */
export function inputsFor(root: string) {
  return [
    { name: 'containers', paths: [join(root, 'var/log/containers/*.log')], format: 'auto' as const },
    { name: 'docker', paths: [join(root, 'var/lib/docker/containers/*/*-json.log')], format: 'docker' as const },
    { name: 'host', paths: [join(root, 'var/log/*.log')], format: 'plain' as const },
  ];
}

if (process.argv[1] && /gen-logs\.(ts|js|mjs)$/.test(process.argv[1])) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      mib: { type: 'string', default: '64' },
      seed: { type: 'string', default: '1' },
      pods: { type: 'string', default: '20' },
      docker: { type: 'string', default: '10' },
      host: { type: 'string', default: '3' },
      force: { type: 'boolean', default: false },
    },
  });
  if (!values.out) {
    process.stderr.write('gen-logs: --out DIR is required\n');
    process.exit(2);
  }
  if (existsSync(values.out)) {
    if (!values.force) {
      process.stderr.write(`gen-logs: ${values.out} exists; pass --force to replace it\n`);
      process.exit(2);
    }
    rmSync(values.out, { recursive: true, force: true });
  }
  const tree = generateTree({
    root: values.out,
    seed: Number(values.seed),
    pods: Number(values.pods),
    dockerContainers: Number(values.docker),
    hostFiles: Number(values.host),
    totalBytes: Number(values.mib) * 1024 * 1024,
  });
  process.stdout.write(`${tree.files.length} files, ${tree.lines} logical lines, ${(tree.bytes / 1048576).toFixed(1)} MiB in ${tree.root}\n`);
}
