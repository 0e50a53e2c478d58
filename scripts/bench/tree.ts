// The bench's data: a Docker json-file tree whose lines are 180–250 bytes (gen-logs' default
// lines run a little longer), deterministic from a seed, each line carrying `<key>#<seq>`.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, statSync, symlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { dockerLines, rng } from '../gen-logs.js';

export const DOCKER_DIR = 'var/lib/docker/containers';

export interface DockerTree {
  root: string;
  files: string[];
  lines: number;
  bytes: number;
}

const WORDS = 'GET POST request served user cache miss hit order processed latency ms status ok error retry upstream connection pool worker queued job done timeout'.split(' ');

/** The glob warden's docker input uses for a tree rooted at `root`. */
export function dockerGlob(root: string): string {
  return join(root, DOCKER_DIR, '*/*-json.log');
}

export function containerId(r: () => number): string {
  let s = '';
  for (let i = 0; i < 64; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

/** Creates `<root>/var/lib/docker/containers/<id>/<id>-json.log` and returns its path. */
export function newContainerFile(root: string, id: string): string {
  const dir = join(root, DOCKER_DIR, id);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${id}-json.log`);
}

/**
 * One Docker json-file line of about 180–250 bytes: the JSON wrapper (with a 30-byte time and the
 * escaped newline) is 71 bytes, the text 110–179 characters. The text is a mix as on a real node:
 * 70% plain words, 25% a structured (JSON) application log, whose quotes the daemon escapes, and
 * 5% with a tab or non-ASCII characters.
 */
export function makeLine(r: () => number, key: string, seq: number, timeNs: bigint): string {
  const len = 110 + Math.floor(r() * 70);
  let text = `${key}#${seq} `;
  const kind = r();
  if (kind < 0.7) {
    while (text.length < len) text += word(r) + ' ';
  } else if (kind < 0.95) {
    const fields: Record<string, unknown> = { level: r() < 0.9 ? 'info' : 'error', status: 200 + Math.floor(r() * 4) * 100, msg: '' };
    let msg = word(r);
    for (let w = word(r); text.length + JSON.stringify({ ...fields, msg: `${msg} ${w}` }).length <= len; w = word(r)) msg += ` ${w}`;
    return dockerLines(text + JSON.stringify({ ...fields, msg }), r() < 0.8 ? 'stdout' : 'stderr', timeNs);
  } else {
    while (text.length < len) text += word(r) + (r() < 0.2 ? '\t' : r() < 0.2 ? ' café → ' : ' ');
  }
  return dockerLines(text.slice(0, len), r() < 0.8 ? 'stdout' : 'stderr', timeNs);
}

function word(r: () => number): string {
  return WORDS[Math.floor(r() * WORDS.length)]!;
}

/** Writes `containers` files of about `totalBytes / containers` each. */
export function generateDockerTree(root: string, totalBytes: number, containers = 8, seed = 1): DockerTree {
  const r = rng(seed);
  const perFile = Math.max(4096, Math.ceil(totalBytes / containers));
  let t = 1_780_000_000_000_000_000n;
  const files: string[] = [];
  let lines = 0;
  let bytes = 0;
  for (let c = 0; c < containers; c++) {
    const path = newContainerFile(root, containerId(r));
    const fd = openSync(path, 'w');
    let written = 0;
    let seq = 0;
    let buf: string[] = [];
    let pending = 0;
    while (written < perFile) {
      t += BigInt(1 + Math.floor(r() * 1_000_000));
      const line = makeLine(r, `dock${c}`, seq++, t);
      buf.push(line);
      const size = Buffer.byteLength(line);
      pending += size;
      written += size;
      if (pending > 1 << 20) {
        writeSync(fd, buf.join(''));
        buf = [];
        pending = 0;
      }
    }
    if (buf.length) writeSync(fd, buf.join(''));
    closeSync(fd);
    files.push(path);
    lines += seq;
    bytes += written;
  }
  return { root, files, lines, bytes };
}

/** The docker files already under `root` (for `--tree DIR` reuse). */
export function findDockerFiles(root: string): string[] {
  const base = join(root, DOCKER_DIR);
  if (!existsSync(base)) return [];
  const out: string[] = [];
  for (const id of readdirSync(base).sort()) {
    const p = join(base, id, `${id}-json.log`);
    if (existsSync(p) && statSync(p).isFile()) out.push(p);
  }
  return out;
}

/** Reads every file once in large blocks (warms the page cache) and counts lines and bytes. */
export function warmAndCount(root: string, files: string[]): DockerTree {
  const block = Buffer.allocUnsafe(4 << 20);
  let lines = 0;
  let bytes = 0;
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      for (;;) {
        const n = readSync(fd, block, 0, block.length, null);
        if (n === 0) break;
        bytes += n;
        let i = -1;
        while ((i = block.indexOf(10, i + 1)) !== -1 && i < n) lines++;
      }
    } finally {
      closeSync(fd);
    }
  }
  return { root, files, lines, bytes };
}

export const CONTAINERS_DIR = 'var/log/containers';

/**
 * `/var/log/containers/<pod>_<namespace>_<container>-<id>.log` symlinks (absolute, as the kubelet
 * makes them) to each Docker file of the tree; returns their glob.
 */
export function linkContainers(tree: DockerTree): string {
  const dir = join(tree.root, CONTAINERS_DIR);
  mkdirSync(dir, { recursive: true });
  for (const [i, file] of tree.files.entries()) {
    const id = basename(dirname(file));
    const link = join(dir, `app-${i}_bench_app-${id}.log`);
    if (!existsSync(link)) symlinkSync(file, link);
  }
  return join(dir, '*.log');
}
