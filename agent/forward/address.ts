// Where a Forward peer is: tcp://HOST:PORT or unix:///PATH, parsed by config/address.ts.
import { AddressError, parseForwardAddress } from '../../config/address.js';
import { ForwardAddressError } from './errors.js';

export type ForwardAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** `tcp://HOST:PORT` (HOST may be `[v6]`, PORT 0 where a sink listens) or `unix:///absolute/path.sock`. */
export function parseForwardTo(s: string, key = 'forward address'): ForwardAddress {
  try {
    return parseForwardAddress(s, { key, anyPort: true });
  } catch (err) {
    throw err instanceof AddressError ? new ForwardAddressError(err.message) : err;
  }
}

export function formatForwardAddress(a: ForwardAddress): string {
  if (a.kind === 'unix') return `unix://${a.path}`;
  return `tcp://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
