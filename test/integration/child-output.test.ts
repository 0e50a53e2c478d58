import { describe, expect, it } from 'vitest';
import { MAX_CHILD_LINE_BYTES } from '../../core/lines.js';
import { LAST_LINES } from '../../supervisor/child.js';
import { childScope } from '../support/child.js';
import { fixture, freePort, waitFor, waitForLog } from '../support/index.js';

const node = process.execPath;
const scope = childScope();

describe('ChildSupervisor output', () => {
  it('streams lines into the log and keeps the last 200 for the crash report', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('listen.mjs')], port, env: { PORT: String(port), LINES: '500' } });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    await waitForLog(() => h.entries, { msg: `listening ${port}` });
    expect(h.entries.filter((e) => e.child === 'node' && e.stream === 'stdout').length).toBe(501);
    const pid = h.child.pid()!;
    process.kill(pid, 'SIGKILL');
    const exit = await waitFor('exit', () => h.child.status().last_exit);
    expect(exit.last_lines).toHaveLength(LAST_LINES);
    expect(exit.last_lines![0]).toBe('line 301');
    expect(exit.last_lines!.at(-2)).toBe('line 499');
    expect(exit.last_lines!.at(-1)).toBe(`listening ${port}`);
  });

  it('a huge line without newline is cut at 16 KiB and the rest counted, not buffered', async () => {
    const port = await freePort();
    const big = 1_000_000;
    const h = scope.make({ command: [node, fixture('listen.mjs')], port, env: { PORT: String(port), BIG_LINE_BYTES: String(big) } });
    h.child.start();
    await waitForLog(() => h.entries, { msg: 'after big' });
    const cut = h.entries.find((e) => e.truncated_bytes !== undefined)!;
    expect(cut.msg).toHaveLength(MAX_CHILD_LINE_BYTES);
    expect(cut.truncated_bytes).toBe(big - MAX_CHILD_LINE_BYTES);
  });

  it('passes env to the child and never logs its values', async () => {
    const port = await freePort();
    const secret = 'sk-' + 'a1b2c3d4e5f6'.repeat(3);
    const h = scope.make({
      command: [node, '-e', "console.log('key length', process.env.WARDEN_FORWARD_SHARED_KEY.length); require('node:net').createServer().listen(Number(process.env.PORT), '127.0.0.1')"],
      port,
      env: { PORT: String(port), WARDEN_FORWARD_SHARED_KEY: secret },
    });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    await waitForLog(() => h.entries, { msg: `key length ${secret.length}` });
    await h.child.stop();
    expect(h.lines.join('\n')).not.toContain(secret);
    expect(h.entries.find((e) => e.msg === 'child started')!.env_keys).toContain('WARDEN_FORWARD_SHARED_KEY');
  });
});

describe('the secrets a child was handed stay out of warden\'s log', () => {
  it('the running child\'s expanded command is redacted with its own start\'s values, not those of options updated for the next start', async () => {
    const port = await freePort();
    const token = 'tok-' + 'f00dfeed'.repeat(3);
    // Prints its argument once it got SIGUSR2: after the options were updated.
    const script = "process.on('SIGUSR2', () => console.log('started with ' + process.argv[1])); require('node:net').createServer().listen(Number(process.env.PORT), '127.0.0.1')";
    const h = scope.make({ command: [node, '-e', script, '--', `--token=${token}`], shownCommand: [node, '-e', script, '--', '--token=${TOKEN}'], port, env: { PORT: String(port) } });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    h.child.updateOptions({ command: [node, '-e', script, '--', '--token=another-value-1234'], shownCommand: [node, '-e', script, '--', '--token=${TOKEN}'] });
    process.kill(h.child.pid()!, 'SIGUSR2');
    await waitForLog(() => h.entries, { msg: 'started with --token=${TOKEN}' });
    expect(h.lines.join('\n')).not.toContain(token);
  });
});

describe('ChildSupervisor output as entries (issue 13 item 5)', () => {
  it('a JSON line becomes fields at the child\'s level; a stack trace is one entry; plain lines stay text', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('flood.mjs')], port, env: { PORT: String(port), FLOOD_S: '0', TRACE: '1' } });
    h.child.start();
    await waitFor('the line after the trace', () => h.entries.find((e) => e.msg === 'next line'));
    const json = h.entries.find((e) => e.msg === 'json from child')!;
    expect(json).toMatchObject({ level: 'warn', child: 'node', stream: 'stdout', answer: 42, nested: { a: [1, 2] }, child_time: 'child-time' });
    const trace = h.entries.find((e) => e.msg.startsWith('Error: boom'))!;
    expect(trace.msg).toBe('Error: boom\n    at f (/app/a.js:1:1)\n    at g (/app/b.js:2:2)\n\tfrom /app/c.rb:3');
    expect(trace.lines).toBe(4);
    expect(h.entries.some((e) => e.msg.trim().startsWith('at '))).toBe(false);
  });

  it('"child exited" last_lines hold only lines of the child that exited, not of earlier ones', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('listen.mjs')], port, env: { PORT: String(port), LINES: '3' } });
    h.child.start();
    await waitFor('first ready', () => h.child.status().state === 'ready');
    const first = h.child.pid()!;
    await waitForLog(() => h.entries, { msg: `listening ${port}` });
    h.child.updateOptions({ command: [node, '-e', "console.log('second child'); require('node:net').createServer().listen(Number(process.env.PORT), '127.0.0.1')"] });
    process.kill(first, 'SIGKILL');
    await waitFor('second ready', () => h.child.status().state === 'ready' && h.child.pid() !== first && h.entries.some((e) => e.msg === 'second child'));
    process.kill(h.child.pid()!, 'SIGKILL');
    await waitFor('second exit', () => h.child.status().last_exit && h.child.status().restarts >= 2);
    expect(h.child.status().last_exit!.last_lines).toEqual(['second child']);
  });
});
