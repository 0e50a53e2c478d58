// `warden probe` and `warden status`: clients of the health server, for exec probes, Docker
// HEALTHCHECK and people at a terminal.
import { request } from 'node:http';
import { loadConfig } from '../../config/load.js';
import { splitListen } from './server.js';

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
  out.push(`warden ${s.version ?? ''} on ${s.node_name ?? '?'}   ready: ${s.ready?.ok ? 'yes' : 'no'}${s.ready?.ok ? '' : ` (${(s.ready?.reasons ?? []).join('; ')})`}`);
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
  const b = s.budgets;
  if (b && Array.isArray(b.rows)) {
    out.push('');
    out.push(`BUDGETS (${b.mode ?? '?'})`);
    out.push(table([['who', 'resource', 'usage', 'budget', 'violations'], ...b.rows.map((r: any) => [r.who, r.resource, String(r.usage), String(r.budget), String(r.violations)])]));
  }
  const files: any[] = s.files ?? [];
  out.push('');
  out.push(`FILES (${files.length}, lag ${fmtBytes(s.lag_bytes ?? 0)})`);
  const shown = [...files].sort((a, b) => (b.lag ?? 0) - (a.lag ?? 0)).slice(0, 20);
  if (shown.length) out.push(table([['path', 'offset', 'size', 'lag', 'state'], ...shown.map((f) => [f.path, String(f.offset), String(f.size), fmtBytes(f.lag ?? 0), String(f.state ?? '')])]));
  if (files.length > shown.length) out.push(`… and ${files.length - shown.length} more (warden status --json for all)`);
  return out.join('\n') + '\n';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (cell ?? '').padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
