// Issue 15 items 3 and 13: configs read bounded and only from regular files; one address parser
// for check-config and run time; globs kept inside tail.roots.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AddressError, parseForwardAddress, parseHostPort } from '../../../config/address.js';
import { CONFIG_MAX_BYTES, ConfigError, loadConfig, parseConfigText } from '../../../config/load.js';
import { splitListen } from '../../../agent/health/server.js';
import { parseForwardTo } from '../../../agent/forward/protocol.js';

import { configErrors as errorsOf, configTextErrors as errorsOfText } from '../../support/config.js';

let dir = '';
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'warden-cfg-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('config files are read bounded, regular files only', () => {
  it('a device, a FIFO or a directory is an error naming it, never read (nor waited on)', () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    for (const [path, type] of [['/dev/zero', 'device'], [fifo, 'fifo'], [dir, 'directory']] as const) {
      const errors = errorsOf(() => loadConfig(path, {}));
      expect(errors).toEqual([`(file): ${path} is not a regular file (a ${type}); never read`]);
    }
  });

  it('a file over the limit is an error naming the file and the limit', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, CONFIG_MAX_BYTES + 1);
    const [e] = errorsOf(() => loadConfig(big, {}));
    expect(e).toContain(big);
    expect(e).toContain(String(CONFIG_MAX_BYTES));
  });
});

describe('one address parser for check-config and run time', () => {
  it('port 99999 is a config error naming the key, not a crash at run time', () => {
    expect(errorsOfText('forward: { to: "tcp://127.0.0.1:99999" }')).toEqual(['forward.to: port must be 1–65535 (got "tcp://127.0.0.1:99999")']);
    expect(errorsOfText('health: { listen: "127.0.0.1:99999" }')).toEqual(['health.listen: port must be 0–65535 (got "127.0.0.1:99999")']);
    expect(errorsOfText('forward: { to: "tcp://127.0.0.1:0" }')).toEqual(['forward.to: port must be 1–65535 (got "tcp://127.0.0.1:0")']);
  });

  it('the run-time callers use it too', () => {
    expect(() => splitListen('127.0.0.1:99999')).toThrow('health.listen: port must be 0–65535 (got "127.0.0.1:99999")');
    expect(splitListen('[::1]:9880')).toEqual({ host: '::1', port: 9880 });
    expect(() => parseHostPort('x:123456', { key: 'k' })).toThrow(AddressError);
    expect(parseForwardAddress('tcp://[::1]:24224', { key: 'forward.to' })).toEqual({ kind: 'tcp', host: '::1', port: 24224 });
    // A sink listens on any free port: 0 is allowed there.
    expect(parseForwardTo('tcp://127.0.0.1:0')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 0 });
  });
});

describe('globs stay inside tail.roots', () => {
  it('a glob of / is an error, with or without tail.roots', () => {
    expect(errorsOfText('inputs: [{ name: all, paths: ["/**/*"] }]\ntail: { roots: [/data/logs] }')).toEqual([
      `inputs[0].paths[0]: the glob's fixed prefix is / (the whole file system); start it with a directory inside tail.roots (got "/**/*")`,
    ]);
    expect(errorsOfText('inputs: [{ name: all, paths: ["/*.log"] }]')).toHaveLength(1);
    expect(errorsOfText('tail: { roots: ["/"] }')[0]).toMatch(/^tail\.roots\[0\]: must not be \//);
    // One spelling per directory: these are all /.
    for (const root of ['/./', '//', '/var/..', '/var/log/../../']) expect(errorsOfText(`tail: { roots: ["${root}"] }`)[0], root).toMatch(/^tail\.roots\[0\]: must not be \//);
  });

  it('a root is kept as one spelling: a trailing slash or a dot segment is dropped', () => {
    const c = parseConfigText('tail: { roots: [/data/logs/, /srv/./x//] }\ninputs: [{ name: a, paths: [/data/logs/*.log] }]', 'test.yaml', {});
    expect(c.tail.roots).toEqual(['/data/logs', '/srv/x']);
  });

  it('with tail.roots set, a glob prefix outside every root is an error naming the input and the roots', () => {
    expect(errorsOfText('inputs: [{ name: a, paths: [/data/logs/*.log, /etc/*.conf] }]\ntail: { roots: [/data/logs, /srv] }')).toEqual([
      'inputs[0].paths[1]: the glob\'s fixed prefix /etc is outside every tail.roots entry (/data/logs, /srv) (got "/etc/*.conf")',
    ]);
  });

  it('without tail.roots, a glob prefix is a root of its own (the DESIGN default)', () => {
    expect(parseConfigText('inputs: [{ name: a, paths: [/tmp/x/*.log] }]', 'test.yaml', {}).inputs[0]!.paths).toEqual(['/tmp/x/*.log']);
  });
});
