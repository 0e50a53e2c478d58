// scripts/install-systemd's own habits: a clean --help, configs not world-readable, and the unit's
// Documentation= pointing at a file the script installs.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const script = join(root, 'scripts/install-systemd');
const dir = mkdtempSync(join(tmpdir(), 'warden-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (env: Record<string, string>, ...args: string[]) => spawnSync(script, args, { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } });

describe('scripts/install-systemd', () => {
  it('--help prints the header comment and nothing of the script itself', () => {
    const r = run({}, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Installs warden as a systemd service/);
    expect(r.stdout).toMatch(/usage: scripts\/install-systemd/);
    expect(r.stdout).not.toMatch(/set -e|^#|here=/m);
  });

  it('installs configs 0640 (they will hold output credentials) and the README the unit documents', () => {
    const bin = join(dir, 'fake-warden');
    writeFileSync(bin, '#!/bin/sh\necho "warden 9.9.9"\n');
    chmodSync(bin, 0o755);
    const dest = join(dir, 'root');
    const r = run({ DESTDIR: dest }, '--binary', bin);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const f of ['etc/warden/warden.yaml', 'etc/warden/fluent.conf']) expect((statSync(join(dest, f)).mode & 0o777).toString(8), f).toBe('640');
    const unit = readFileSync(join(root, 'deploy/systemd/warden.service'), 'utf8');
    const docs = /^Documentation=(.+)$/m.exec(unit)![1]!.split(/\s+/);
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      // A file the install puts there (not a web page with an anchor that may not exist).
      expect(d).toMatch(/^file:\//);
      expect(existsSync(join(dest, d.slice('file:'.length))), d).toBe(true);
    }
  });
});
