// `warden probe` and `warden status`: clients of the health server, for exec probes, Docker
// HEALTHCHECK and people at a terminal.
import { request } from 'node:http';
import { loadConfig } from '../../config/load.js';
import { compileGlob } from '../tail/glob.js';
import { splitListen } from './server.js';
import { age, mi, millicores, size } from '../../core/units.js';

/**
 * --url, else the health.listen of the resolved config (wildcards → loopback), else 127.0.0.1:9880.
 * A config named with --config must load (its ConfigError goes to the caller); one found by the
 * usual resolution that does not load falls back to the default address.
 */
export function defaultUrl(explicit?: string, configPath?: string): string {
  if (explicit) return explicit.replace(/\/+$/, '');
  let listen: string;
  try {
    listen = loadConfig(configPath).config.health.listen;
  } catch (err) {
    if (configPath !== undefined) throw err;
    return 'http://127.0.0.1:9880';
  }
  const { host, port } = splitListen(listen);
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

export interface Fetched {
  status: number;
  body: string;
}

export function get(url: string, timeoutMs: number): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 4 * 1024 * 1024) req.destroy(new Error('response too large'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function probe(which: 'live' | 'ready', opts: { url?: string; configPath?: string; timeoutMs: number }): Promise<number> {
  const url = `${defaultUrl(opts.url, opts.configPath)}/${which === 'live' ? 'healthz' : 'readyz'}`;
  try {
    const res = await get(url, opts.timeoutMs);
    const ok = res.status === 200;
    process.stdout.write(`${which}: ${ok ? 'ok' : 'not ok'} (${res.status}) ${res.body.trim()}\n`);
    return ok ? 0 : 1;
  } catch (err) {
    process.stdout.write(`${which}: not ok: ${url}: ${(err as Error).message}\n`);
    return 1;
  }
}

export async function printStatus(opts: { url?: string; configPath?: string; json: boolean }): Promise<number> {
  const url = `${defaultUrl(opts.url, opts.configPath)}/status`;
  let res: Fetched;
  try {
    res = await get(url, 5000);
  } catch (err) {
    process.stderr.write(`warden status: ${url}: ${(err as Error).message}\n`);
    return 1;
  }
  if (opts.json) {
    process.stdout.write(res.body);
    return 0;
  }
  process.stdout.write(renderStatus(JSON.parse(res.body)));
  return 0;
}

/** The human table of `warden status`. */
export function renderStatus(s: any): string {
  const out: string[] = [];
  const c = s.child ?? {};
  out.push(`warden ${s.version ?? ''} on ${s.node_name ?? '?'}   ready: ${s.ready?.ok ? 'yes' : 'no'}`);
  // One reason a line: they can be long, and rows stay under 100 columns.
  if (!s.ready?.ok) for (const r of s.ready?.reasons ?? []) out.push(`  - ${clip(String(r), MAX_WIDTH - 4)}`);
  out.push('');
  out.push('CHILD');
  out.push(
    table([
      ['state', 'pid', 'uptime', 'restarts', 'degraded', 'last exit'],
      [
        String(c.state ?? '?'),
        String(c.pid ?? '-'),
        c.uptime_s != null ? `${Math.round(c.uptime_s)}s` : '-',
        String(c.restarts ?? 0),
        c.degraded ? 'yes' : 'no',
        c.last_exit ? `${c.last_exit.reason} at ${c.last_exit.at}` : '-',
      ],
    ]),
  );
  const f = s.forward;
  if (f) {
    out.push('');
    out.push('FORWARD');
    out.push(
      table([
        ['to', 'connected', 'in flight', 'last ack', 'oldest pending'],
        [
          clip(String(f.to ?? '?'), 40),
          f.connected ? 'yes' : 'no',
          f.max_inflight != null ? `${f.inflight ?? 0}/${f.max_inflight}` : String(f.inflight ?? 0),
          f.last_ack_age_s != null ? `${age(f.last_ack_age_s)} ago` : f.last_ack_at ? String(f.last_ack_at) : 'never',
          f.oldest_pending_s != null ? age(f.oldest_pending_s) : '-',
        ],
      ]),
    );
  }
  const b = s.budgets;
  if (b && Array.isArray(b.rows)) {
    out.push('');
    const pod = b.pod ?? {};
    const podLine =
      pod.memory_limit_bytes == null && pod.cpu_limit_millicores == null
        ? 'no container limits'
        : `pod memory ${mi(pod.working_set_bytes)}${pod.unreclaimable_bytes == null ? '' : ` (${mi(pod.unreclaimable_bytes)} unreclaimable)`} of ${pod.memory_limit_bytes == null ? 'no limit' : mi(pod.memory_limit_bytes)}, cpu ${millicores(pod.cpu_millicores)} of ${pod.cpu_limit_millicores == null ? 'no limit' : millicores(pod.cpu_limit_millicores)}`;
    out.push(`BUDGETS (${b.mode ?? '?'}; ${podLine})`);
    out.push(table([['resource', 'state', 'usage', 'budget', 'actions', 'reason'], ...b.rows.map((r: any) => [String(r.resource), String(r.state), String(r.usage), String(r.budget), String(r.actions), String(r.reason)])]));
  }
  out.push('');
  out.push(...renderFiles(s.files ?? [], s.inputs ?? [], s.lag_bytes ?? 0));
  return out.join('\n') + '\n';
}

/** Rows of `warden status` stay under this many columns. */
export const MAX_WIDTH = 99;
/** Lagging files listed at most; the rest are summed up. */
const MAX_FILE_ROWS = 20;
const PATH_WIDTH = 50;

/**
 * The files that lag (not yet acknowledged bytes), most behind first, and one summary line for the
 * rest: on a node with hundreds of files the quiet ones say nothing one by one.
 */
function renderFiles(files: any[], inputs: Array<{ name: string; paths: string[] }>, lagBytes: number): string[] {
  const out: string[] = [];
  const total = files.reduce((n, f) => n + (Number(f.size) || 0), 0);
  const lagging = files.filter((f) => (f.lag ?? 0) > 0).sort((a, b) => (b.lag ?? 0) - (a.lag ?? 0));
  out.push(`FILES (${files.length}, ${size(total)}, lag ${size(lagBytes)}; ${lagging.length ? `${lagging.length} lagging` : 'none lagging'})`);
  const shown = lagging.slice(0, MAX_FILE_ROWS);
  const prefixes = new Map(inputs.map((i) => [i.name, i.paths.map((p) => compileGlob(p).prefix)]));
  if (shown.length) {
    out.push(
      table([
        ['input', 'path', 'offset', 'size', 'lag', 'state'],
        ...shown.map((f) => [String(f.input ?? ''), shortPath(String(f.path), prefixes.get(f.input) ?? []), size(f.offset ?? 0), size(f.size ?? 0), size(f.lag ?? 0), String(f.state ?? '')]),
      ]),
    );
  }
  const rest = files.length - shown.length;
  const moreLagging = lagging.length - shown.length;
  if (rest > 0 && shown.length === 0) out.push('(warden status --json lists every file)');
  else if (rest > 0) {
    const restBytes = total - shown.reduce((n, f) => n + (Number(f.size) || 0), 0);
    const lagNote = moreLagging > 0 ? `${moreLagging} more lagging` : 'none lagging';
    out.push(`and ${rest} files, ${size(restBytes)}, ${lagNote} (warden status --json lists every file)`);
  }
  return out;
}

/**
 * A path as its input's directory sees it (the glob's fixed prefix taken off), a long hex id
 * (a container id) cut to 12 digits, and whatever is still too long elided in the middle.
 */
export function shortPath(path: string, prefixes: string[], width = PATH_WIDTH): string {
  let p = path;
  const root = prefixes.filter((r) => r !== '/' && p.startsWith(r.endsWith('/') ? r : `${r}/`)).sort((a, b) => b.length - a.length)[0];
  if (root) p = p.slice(root.length + (root.endsWith('/') ? 0 : 1));
  p = p.replace(/[0-9a-f]{64}/g, (id) => `${id.slice(0, 12)}…`);
  return clip(p, width, true);
}

/** `s` cut to `width` characters, at the end or (middle) around an ellipsis. */
function clip(s: string, width: number, middle = false): string {
  if (s.length <= width) return s;
  if (!middle) return `${s.slice(0, width - 1)}…`;
  const head = Math.ceil((width - 1) / 2);
  return `${s.slice(0, head)}…${s.slice(s.length - (width - 1 - head))}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (cell ?? '').padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
