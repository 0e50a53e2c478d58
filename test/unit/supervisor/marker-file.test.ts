// The mark of a warden's children kept in state_dir: what the next start makes of the file left
// by the warden before.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MARKER_FILE, readPreviousMarker, recordMarks, takeMarks, writeMarker } from '../../../supervisor/child/marker-file.js';
import { newToken } from '../../../supervisor/child/marker.js';
import { readStat } from '../../../supervisor/procfs/stat.js';
import { captureLogger, tempDirEach } from '../../support/index.js';

const tmp = tempDirEach('warden-marker-');
const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function fileFor(token: string, warden: { pid: number; starttime: number }, boot = bootId): void {
  writeFileSync(join(tmp.dir, MARKER_FILE), JSON.stringify({ version: 1, token, boot_id: boot, warden }));
}

describe('the child marker file', () => {
  it('none before the first start; after takeMarks and recordMarks, the token of this start, which the next one takes as the warden before\'s', async () => {
    expect(await readPreviousMarker(tmp.dir)).toEqual({ kind: 'none' });
    const { logger } = captureLogger();
    const marks = await takeMarks(tmp.dir, logger);
    expect(marks.previous).toBeNull();
    // takeMarks only reads: the file is the one of the warden before until recordMarks.
    expect(await readPreviousMarker(tmp.dir)).toEqual({ kind: 'none' });
    expect(await recordMarks(tmp.dir, marks, logger)).toBe(true);
    // This process wrote it: as a next start sees it (by pid and start time, this is no other warden running).
    const prev = await readPreviousMarker(tmp.dir);
    expect(prev).toEqual({ kind: 'gone', token: marks.token, pid: process.pid, since: readStat(process.pid)!.starttime });
  });

  it('a warden that still runs on the state_dir keeps its children: `running`', async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => other.once('spawn', r));
      fileFor(newToken(), { pid: other.pid!, starttime: readStat(other.pid!)!.starttime });
      expect(await readPreviousMarker(tmp.dir)).toEqual({ kind: 'running', pid: other.pid });
      // The same pid, started at another time: that warden is gone.
      const token = newToken();
      fileFor(token, { pid: other.pid!, starttime: readStat(other.pid!)!.starttime - 1 });
      expect(await readPreviousMarker(tmp.dir)).toMatchObject({ kind: 'gone', token });
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('a file of another boot is nothing to look for; a symlink, garbage or a bad token is unusable, and none of its content is said', async () => {
    fileFor(newToken(), { pid: 1, starttime: 1 }, 'another-boot');
    expect(await readPreviousMarker(tmp.dir)).toEqual({ kind: 'none' });
    const file = join(tmp.dir, MARKER_FILE);
    writeFileSync(join(tmp.dir, 'secret'), 'root:x:0:0:root:/root:/bin/bash\n');
    for (const make of [
      () => symlinkSync(join(tmp.dir, 'secret'), file),
      () => writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\n'),
      () => fileFor('../../etc', { pid: 1, starttime: 1 }),
    ]) {
      rmSync(file, { force: true });
      make();
      const prev = await readPreviousMarker(tmp.dir);
      expect(prev.kind).toBe('unusable');
      expect(JSON.stringify(prev)).not.toContain('root:x');
    }
  });

  it('writeMarker never writes through a symlink planted as its temp file', async () => {
    writeFileSync(join(tmp.dir, 'victim'), 'keep\n');
    symlinkSync(join(tmp.dir, 'victim'), join(tmp.dir, `${MARKER_FILE}.tmp`));
    await writeMarker(tmp.dir, newToken());
    expect(readFileSync(join(tmp.dir, 'victim'), 'utf8')).toBe('keep\n');
    expect(JSON.parse(readFileSync(join(tmp.dir, MARKER_FILE), 'utf8')).version).toBe(1);
  });

  it('recordMarks that cannot write logs an error naming the file, and throws nothing', async () => {
    mkdirSync(join(tmp.dir, `${MARKER_FILE}.tmp`));
    const { logger, entries } = captureLogger();
    expect(await recordMarks(tmp.dir, await takeMarks(tmp.dir, logger), logger)).toBe(false);
    const file = join(tmp.dir, MARKER_FILE);
    expect(entries).toContainEqual(expect.objectContaining({ level: 'error', file, msg: expect.stringContaining(file) }));
  });
});
