// Fluent Bit and fluentd on the same tree into the same receiver (`warden sink --count-only`, no
// shared key), where they are installed: tail + docker/json parse → forward with acks, 0.2 s flush
// (and for fluentd 4 flush threads: with one, each chunk waits for its ack and fluentd ran at half
// its rate).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsc, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { processTree, RssSampler, treeCpuSeconds } from './proc.js';
import type { Scope } from './row.js';
import { dockerGlob, type DockerTree } from './tree.js';
import { freePort, SHIPPED_NODE_FLAGS, sleep, waitFor, WARDEN } from './warden.js';

export type Other = 'fluent-bit' | 'fluentd';

export function onPath(program: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, program);
    try {
      accessSync(p, fsc.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return null;
}

export interface OtherResult {
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
}

export function fluentBitConfig(dir: string, glob: string, port: number): string {
  writeFileSync(
    join(dir, 'parsers.conf'),
    ['[PARSER]', '    Name docker', '    Format json', '    Time_Key time', '    Time_Format %Y-%m-%dT%H:%M:%S.%L', '    Time_Keep On', ''].join('\n'),
  );
  const conf = join(dir, 'fluent-bit.conf');
  writeFileSync(
    conf,
    [
      '[SERVICE]',
      '    Flush 0.2',
      '    Log_Level warn',
      `    Parsers_File ${join(dir, 'parsers.conf')}`,
      '[INPUT]',
      '    Name tail',
      `    Path ${glob}`,
      '    Parser docker',
      '    Tag docker.*',
      '    Read_from_Head On',
      '    Refresh_Interval 1',
      '[OUTPUT]',
      '    Name forward',
      '    Match *',
      '    Host 127.0.0.1',
      `    Port ${port}`,
      '    Require_ack_response true',
      // Since 2.x Fluent Bit sends [[time, metadata], record] entries unless told otherwise; the
      // receiver (like fluentd) takes the [time, record] of the Forward protocol spec.
      '    Retain_Metadata_In_Forward_Mode false',
      '',
    ].join('\n'),
  );
  return conf;
}

/** in_tail → out_forward with acks; `fileBuffer`: a file buffer in that directory (the seed DaemonSet's), else memory. */
export function fluentdConfig(dir: string, glob: string, port: number, fileBuffer?: string): string {
  const conf = join(dir, 'fluent.conf');
  writeFileSync(
    conf,
    `<source>
  @type tail
  path ${glob}
  pos_file ${join(dir, 'tail.pos')}
  read_from_head true
  tag docker.*
  <parse>
    @type json
    time_key time
    time_type string
    time_format %Y-%m-%dT%H:%M:%S.%NZ
  </parse>
</source>
<match **>
  @type forward
  require_ack_response true
  <server>
    host 127.0.0.1
    port ${port}
  </server>
  <buffer>${fileBuffer ? `\n    @type file\n    path ${fileBuffer}` : ''}
    flush_interval 0.2s
    flush_thread_count 4
  </buffer>
</match>
`,
  );
  return conf;
}

/** SIGTERM, SIGKILL after 10 s; resolves once `p` exited. */
export function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

/** An acking Forward receiver on loopback (`warden sink --count-only`, no shared key) that counts records. */
export interface CountingSink {
  port: number;
  pid: number;
  /** Records acked so far, as of the last `refresh`. */
  records(): number;
  /** Asks the sink for its count (SIGUSR1) and waits `ms` for the answer. */
  refresh(ms?: number): Promise<number>;
  /**
   * The count once it has not moved for `quietMs` (at most `maxMs`): what a stopped sender still had
   * on its way (a chunk resent as it stopped) is counted before the next row takes its base.
   */
  settled(quietMs?: number, maxMs?: number): Promise<number>;
}

export async function startCountingSink(scope: Scope): Promise<CountingSink> {
  const port = await freePort();
  const env = { ...process.env };
  delete env.WARDEN_FORWARD_SHARED_KEY;
  const sink = spawn(process.execPath, [...SHIPPED_NODE_FLAGS, WARDEN, 'sink', '--listen', `tcp://127.0.0.1:${port}`, '--count-only'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  scope.defer(() => stopProc(sink));
  let records = 0;
  let listening = false;
  let carry = '';
  sink.stderr!.on('data', (d: Buffer) => {
    const lines = (carry + d.toString()).split('\n');
    carry = lines.pop()!;
    for (const l of lines) {
      try {
        const o = JSON.parse(l) as { msg?: string; stats?: { records?: number } };
        if (o.msg === 'sink listening') listening = true;
        if (typeof o.stats?.records === 'number') records = o.stats.records;
      } catch {
        // not a log line
      }
    }
  });
  await waitFor('the sink listening', () => listening, 15_000, 50);
  const refresh = async (ms = 100) => {
    if (sink.exitCode !== null || sink.signalCode !== null) throw new Error(`the receiver exited (${sink.exitCode ?? sink.signalCode})`);
    sink.kill('SIGUSR1');
    await sleep(ms);
    return records;
  };
  return {
    port,
    pid: sink.pid!,
    records: () => records,
    refresh,
    settled: async (quietMs = 1000, maxMs = 10_000) => {
      const until = Date.now() + maxMs;
      let last = await refresh();
      let since = Date.now();
      while (Date.now() - since < quietMs && Date.now() < until) {
        const now = await refresh(200);
        if (now !== last) [last, since] = [now, Date.now()];
      }
      return last;
    },
  };
}

export async function runOther(scope: Scope, dir: string, which: Other, program: string, tree: DockerTree, timeoutMs: number): Promise<OtherResult> {
  mkdirSync(dir, { recursive: true });
  const sink = await startCountingSink(scope);
  const port = sink.port;
  const glob = dockerGlob(tree.root);
  const args = which === 'fluent-bit' ? ['-c', fluentBitConfig(dir, glob, port)] : ['-c', fluentdConfig(dir, glob, port), '--no-supervisor'];
  const proc = spawn(program, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  scope.defer(() => stopProc(proc));
  const rss = new RssSampler(() => processTree(proc.pid!));
  scope.defer(() => rss.stop());
  let startAt = performance.now();
  let startCpu = 0;
  const deadline = startAt + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${which} exited: ${err.slice(-400)}`);
    if (performance.now() > deadline) throw new Error(`${which}: ${sink.records()} of ${tree.lines} lines after ${Math.round(timeoutMs / 1000)} s`);
    const at = performance.now();
    const cpu = treeCpuSeconds(proc.pid!);
    const seen = sink.records();
    const records = await sink.refresh();
    if (seen === 0 && records === 0) {
      startAt = at;
      startCpu = cpu;
    }
    if (records >= tree.lines) break;
  }
  const end = performance.now();
  return { seconds: (end - startAt) / 1000, cpuSeconds: treeCpuSeconds(proc.pid!) - startCpu, peakRssMiB: rss.stop() };
}
