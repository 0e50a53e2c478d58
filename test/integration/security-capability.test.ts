// Issue 7 item 5: warden reads the host's logs without being root. Run as uid/gid 65534 with only
// CAP_DAC_READ_SEARCH (setpriv: inheritable + ambient so it survives exec, bounding set cut to it),
// it reads a 0600 root:root file in a 0700 root directory; the same run without the capability
// cannot. Its state dir and the sink's output dir belong to 65534.
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor, logEntries, readNdjson, sleep } from '../support/index.js';
import { wardenScope, spawnWarden } from '../support/warden.js';
import { hasCommand, wardenConfig, nobodyConfig } from '../support/faults.js';
import { skipNote } from '../support/skip.js';

const CAN_SETPRIV = process.getuid?.() === 0 && hasCommand('setpriv');
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
const WITH_CAP = [...NOBODY, '--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search', '--bounding-set=-all,+dac_read_search', '--'];
const WITHOUT_CAP = [...NOBODY, '--inh-caps=-all', '--bounding-set=-all', '--'];
const CAP_DAC_READ_SEARCH = 2;

const scope = wardenScope();


async function rootOnlyTree() {
  const t = tempDir('warden-cap-');
  scope.cleanup = t.cleanup;
  const c = await nobodyConfig(t.dir);
  const file = join(c.logs, 'secure.log');
  writeFileSync(file, 'root-only-1\nroot-only-2\n');
  chownSync(file, 0, 0);
  chmodSync(file, 0o600);
  chownSync(c.logs, 0, 0);
  chmodSync(c.logs, 0o700);
  return { dir: t.dir, c, file };
}

function procStatus(pid: number): { uid: string; capEff: bigint } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { uid: /^Uid:\s+(.*)$/m.exec(s)![1]!.trim(), capEff: BigInt('0x' + /^CapEff:\s+([0-9a-f]+)$/m.exec(s)![1]) };
}

describe.skipIf(!CAN_SETPRIV)(`unprivileged warden with CAP_DAC_READ_SEARCH${skipNote(CAN_SETPRIV ? null : 'needs root and setpriv')}`, () => {
  it('as uid 65534 with only CAP_DAC_READ_SEARCH it reads a 0600 root:root file in a 0700 root dir; its lines arrive', async () => {
    const { dir, c } = await rootOnlyTree();
    scope.running = spawnWarden(dir, wardenConfig(c), { wrapper: WITH_CAP });
    const w = scope.running;
    await waitFor('the root-only lines', () => readNdjson(c.out).map((r) => r.record.log).includes('root-only-2'), 15000);
    const st = procStatus(w.proc.pid!);
    expect(st.uid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    expect(st.capEff).toBe(1n << BigInt(CAP_DAC_READ_SEARCH));
    // The child inherits the same single capability (ambient) and the same uid.
    const child = procStatus((await w.json('/status')).child.pid);
    expect(child.uid.split(/\s+/)[0]).toBe('65534');
    expect(child.capEff).toBe(1n << BigInt(CAP_DAC_READ_SEARCH));
    expect((await w.get('/readyz')).status).toBe(200);
  }, 30000);

  it('the same run without the capability cannot read it: nothing arrives, warden stays up', async () => {
    const { dir, c } = await rootOnlyTree();
    scope.running = spawnWarden(dir, wardenConfig(c), { wrapper: WITHOUT_CAP });
    const w = scope.running;
    await waitFor('ready', async () => (await w.get('/readyz')).status === 200, 15000);
    await sleep(1000); // five rescans
    expect(procStatus(w.proc.pid!).capEff).toBe(0n);
    expect(readNdjson(c.out)).toEqual([]);
    expect(w.proc.exitCode).toBeNull();
  }, 30000);

  it('without the capability the log says once that the input directory cannot be read (EACCES)', async () => {
    const { dir, c } = await rootOnlyTree();
    scope.running = spawnWarden(dir, wardenConfig(c), { wrapper: WITHOUT_CAP });
    const w = scope.running;
    await waitFor('ready', async () => (await w.get('/readyz')).status === 200, 15000);
    await sleep(1000);
    const said = logEntries(w.stdout()).filter((l) => (l.level === 'warn' || l.level === 'error') && JSON.stringify(l).includes(c.logs));
    // Once per directory and errno, not once per rescan.
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: 'warn', dir: c.logs, code: 'EACCES' });
  }, 30000);
});
