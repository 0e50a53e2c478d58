// Issue 15 item 13, as a user runs warden (dist/warden.mjs): a file that is no warden config —
// a shadow file given as --config by mistake — or a config with an unknown YAML tag is refused
// (or read) without any of its text reaching stdout or stderr, from check-config and run alike.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, WARDEN } from '../support/index.js';

const MARK = 'hunter2';
let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir('warden-config-content-')));
afterEach(() => cleanup());

const warden = (args: string[]) => {
  const r = spawnSync(process.execPath, [WARDEN, ...args], { cwd: dir, env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout + r.stderr };
};

describe('config text is never echoed', () => {
  it('a shadow file as --config: exit 2 naming the file, none of its lines in the output', () => {
    const shadow = join(dir, 'shadow');
    writeFileSync(shadow, `root:$6$${MARK}salt$Zq0:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n`);
    for (const cmd of ['check-config', 'run']) {
      const r = warden([cmd, '--config', shadow]);
      expect(r.code, `${cmd}: ${r.out}`).toBe(2);
      expect(r.out).toContain(`${shadow}: invalid`);
      expect(r.out).toContain('(root): unknown keys that are no key names; is this a warden configuration? (got 3 such keys, not shown)');
      for (const text of [MARK, '$6$', 'daemon', '19000']) expect(r.out, cmd).not.toContain(text);
    }
  }, 60_000);

  it('an unknown YAML tag is no warning quoting its line; a syntax error names line and column', () => {
    const tagged = join(dir, 'tagged.yaml');
    writeFileSync(tagged, `tail: !${MARK} { read_frm: head }\n`);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, `log: { level: info }\nx: |${MARK}\n  a\n`);
    for (const cmd of ['check-config', 'run']) {
      const t = warden([cmd, '--config', tagged]);
      expect(t.code, `${cmd}: ${t.out}`).toBe(2);
      expect(t.out).toContain('tail.read_frm: unknown key; did you mean tail.read_from? (got a string)');
      expect(t.out).not.toContain('Warning');
      const b = warden([cmd, '--config', broken]);
      expect(b.code, `${cmd}: ${b.out}`).toBe(2);
      expect(b.out).toContain(`(file): ${broken} is not valid YAML or JSON: unexpected text (UNEXPECTED_TOKEN) at line 2, column 5`);
      for (const r of [t, b]) expect(r.out, cmd).not.toContain(MARK);
    }
  }, 60_000);
});
