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

  it('--help: usage first, then what it installs in the order it installs it, then the systemctl step', () => {
    const help = run({}, '--help').stdout.split('\n');
    const usage = help.findIndex((l) => l.startsWith('usage: scripts/install-systemd'));
    expect(usage).toBeGreaterThan(0);
    const bin = join(dir, 'fake-warden-help');
    writeFileSync(bin, '#!/bin/sh\necho "warden 9.9.9"\n');
    chmodSync(bin, 0o755);
    const dest = join(dir, 'help-root');
    const installed = run({ DESTDIR: dest }, '--binary', bin).stdout.split('\n').flatMap((l) => /^installed (\S+)/.exec(l)?.[1]?.slice(dest.length) ?? []);
    expect(installed.length).toBe(5);
    // Each installed path on a line of its own in --help, in the same order, after the usage.
    const lines = installed.map((p) => help.findIndex((l) => l.trimStart().startsWith(p + ' ')));
    for (const [i, at] of lines.entries()) expect(at, installed[i]).toBeGreaterThan(usage);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
    expect(lines.at(-1)! - lines[0]!).toBe(lines.length - 1);
    // What follows the list is the step that follows the copies.
    expect(help[lines.at(-1)! + 1]).toMatch(/^\s*then systemctl daemon-reload/);
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
