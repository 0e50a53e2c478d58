// dist/warden, the single executable (npm run build:binary). Building writes a 100 MB file, so
// the suite does not build it: these run only when it has been built.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skipNote } from '../support/skip.js';

const root = join(import.meta.dirname, '../..');
const binary = join(root, 'dist/warden');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-binary-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(binary))(`dist/warden single executable${skipNote(existsSync(binary) ? null : 'dist/warden is not built: run npm run build:binary first')}`, () => {
  it('prints its version with an empty environment, from an empty directory', () => {
    const r = spawnSync(binary, ['--version'], { cwd: dir, env: {}, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`warden ${version}\n`);
    expect(r.status).toBe(0);
  });

  it('check-config exits 2 on a bad file and names the key', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'health: { listen: nowhere }\nchild: { stop_grace: 5 }\n');
    const r = spawnSync(binary, ['check-config', '--config', 'bad.yaml'], { cwd: dir, env: {}, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('health.listen');
    expect(r.stderr).toContain('child.stop_grace: unknown key; did you mean child.stop_grace_s?');
  });

  it('starts a lazily loaded subcommand (sink) from inside the bundle and stops on SIGTERM', async () => {
    const child = spawn(binary, ['sink', '--listen', 'tcp://127.0.0.1:0', '--out', '-'], { cwd: dir, env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
    // The sink logs to stderr; stdout carries the records.
    let log = '';
    let records = '';
    child.stdout.on('data', (d) => (records += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sink did not start: ${log}`)), 10_000);
      child.stderr.on('data', (d) => {
        log += d;
        if (log.includes('sink listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`sink exited ${code}: ${log}`)));
    });
    // One Forward message with a chunk id, answered by an ack: the bundled sink works, and its
    // event loop has run past start-up (it logs "listening" just before installing its SIGTERM
    // handler, and Node always catches SIGTERM at the C level, so /proc cannot tell).
    const port = Number(/"address":"tcp:\/\/127\.0\.0\.1:(\d+)"/.exec(log)![1]);
    const reply = await new Promise<unknown>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(encode(['test.binary', [[1700000000, { log: 'hello' }]], { chunk: 'c1' }])));
      socket.once('data', (d) => {
        socket.destroy();
        resolve(decode(d));
      });
      socket.once('error', reject);
    });
    expect(reply).toEqual({ ack: 'c1' });
    const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`${code ?? signal}${code === 0 ? '' : `: ${log}`}`)));
    child.kill('SIGTERM');
    expect(await exited).toBe('0');
    expect(records).toContain('"hello"');
  });
});

