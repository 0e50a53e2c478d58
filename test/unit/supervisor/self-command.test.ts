import { describe, expect, it } from 'vitest';
import { resolveCommand, runningAsSea } from '../../../supervisor/self-command.js';

const underNode = { execPath: '/usr/bin/node', execArgv: ['--enable-source-maps'], script: '/app/dist/warden.mjs', isSea: false };
const asSea = { execPath: '/usr/local/bin/warden', execArgv: [], script: '/usr/local/bin/warden', isSea: true };

describe('resolveCommand', () => {
  it('`warden` under node: the same runtime, flags and script', () => {
    expect(resolveCommand(['warden', 'sink', '--listen', 'tcp://127.0.0.1:24224'], underNode)).toEqual({
      file: '/usr/bin/node',
      args: ['--enable-source-maps', '/app/dist/warden.mjs', 'sink', '--listen', 'tcp://127.0.0.1:24224'],
    });
  });
  it('`warden` inside a single executable: the binary itself', () => {
    expect(resolveCommand(['warden', 'sink'], asSea)).toEqual({ file: '/usr/local/bin/warden', args: ['sink'] });
  });
  it('any other program is left to the OS ($PATH lookup by spawn)', () => {
    expect(resolveCommand(['fluentd', '-c', '/etc/fluent/fluent.conf'], underNode)).toEqual({ file: 'fluentd', args: ['-c', '/etc/fluent/fluent.conf'] });
    expect(resolveCommand(['/opt/warden', 'x'], underNode)).toEqual({ file: '/opt/warden', args: ['x'] });
  });
  it('an empty command is an error naming the key', () => {
    expect(() => resolveCommand([], underNode)).toThrow(/child\.command/);
  });
  it('is not a single executable under plain node', () => {
    expect(runningAsSea()).toBe(false);
  });
});
