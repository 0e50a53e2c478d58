// deploy/systemd and scripts/install-systemd. `systemd-analyze verify` reports unknown keys and
// bad values on stderr with exit code 0, so stderr is what is checked. It also insists that
// ExecStart= names an existing executable: the unit is verified as a copy whose ExecStart points
// at a stand-in script in a temp dir (the built dist/warden need not exist).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { skipNote } from '../support/skip.js';

const root = join(import.meta.dirname, '../..');
const unit = readFileSync(join(root, 'deploy/systemd/warden.service'), 'utf8');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-systemd-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the unit with ExecStart's binary replaced by an executable stand-in; returns its path. */
function unitCopy(text: string): string {
  const bin = join(dir, 'warden');
  writeFileSync(bin, '#!/bin/sh\nexit 0\n');
  chmodSync(bin, 0o755);
  const path = join(dir, 'warden.service');
  writeFileSync(path, text.replaceAll('/usr/local/bin/warden', bin));
  return path;
}

function verify(path: string) {
  return spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
}

describe.skipIf(!hasAnalyze)(`systemd-analyze verify deploy/systemd/warden.service${skipNote(hasAnalyze ? null : 'systemd-analyze is not installed')}`, () => {
  it('prints nothing on stderr', () => {
    const r = verify(unitCopy(unit));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('would print a misspelt key (so the check above can fail)', () => {
    const r = verify(unitCopy(unit.replace('NotifyAccess=', 'NotifyAcess=')));
    expect(r.stderr).toMatch(/Unknown key.*NotifyAcess/);
  });
});

describe('deploy/systemd/warden.service', () => {
  const keys = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
  }
  const one = (k: string) => keys.get(k)?.at(-1);

  it('is a notify service with a watchdog, restarted always, with a delegated cgroup', () => {
    expect(one('Type')).toBe('notify');
    expect(one('NotifyAccess')).toBeDefined();
    expect(one('WatchdogSec')).toMatch(/^\d+s$/);
    expect(one('Restart')).toBe('always');
    expect(one('Delegate')).toBe('yes');
    expect(one('ExecStart')).toBe('/usr/local/bin/warden run --config /etc/warden/warden.yaml');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it('is hardened: read-only system and logs, only the state dir writable, one capability', () => {
    expect(one('StateDirectory')).toBe('warden');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ReadOnlyPaths')!.split(/\s+/)).toContain('/var/log');
    expect(keys.has('ReadWritePaths')).toBe(false);
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('CAP_DAC_READ_SEARCH');
  });

  it('gives warden time to stop its child: TimeoutStopSec > child.stop_grace_s', () => {
    const config = parseConfigText(readFileSync(join(root, 'deploy/systemd/warden.yaml'), 'utf8'), 'warden.yaml', {});
    expect(Number.parseInt(one('TimeoutStopSec')!, 10)).toBeGreaterThan(config.child.stop_grace_s);
    expect(config.state_dir).toBe(`/var/lib/${one('StateDirectory')}`);
  });
});

describe('scripts/install-systemd', () => {
  const script = join(root, 'scripts/install-systemd');
  const run = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(script, args, { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } });

  it('installs binary, unit and default configs under DESTDIR, and never overwrites a config', () => {
    const bin = join(dir, 'fake-warden');
    writeFileSync(bin, '#!/bin/sh\necho "warden 9.9.9"\n');
    chmodSync(bin, 0o755);
    const dest = join(dir, 'root');
    const first = run({ DESTDIR: dest }, '--binary', bin);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('warden 9.9.9');
    expect(statSync(join(dest, 'usr/local/bin/warden')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(dest, 'etc/systemd/system/warden.service'), 'utf8')).toBe(unit);
    expect(readFileSync(join(dest, 'etc/warden/warden.yaml'), 'utf8')).toBe(readFileSync(join(root, 'deploy/systemd/warden.yaml'), 'utf8'));
    expect(existsSync(join(dest, 'etc/warden/fluent.conf'))).toBe(true);

    writeFileSync(join(dest, 'etc/warden/warden.yaml'), 'log: { level: debug }\n');
    const second = run({ DESTDIR: dest }, '--binary', bin);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('kept existing');
    expect(readFileSync(join(dest, 'etc/warden/warden.yaml'), 'utf8')).toBe('log: { level: debug }\n');
  });

  it('refuses a missing binary with a message naming it', () => {
    const r = run({ DESTDIR: join(dir, 'root') }, '--binary', join(dir, 'nope'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(join(dir, 'nope'));
    expect(r.stderr).toContain('npm run build:binary');
  });
});
