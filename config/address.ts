// The one parser of addresses, for the schema (check-config) and for run time alike: what
// check-config accepts, `warden run` can bind or connect to.
//   HOST:PORT                      health.listen (HOST may be [v6])
//   tcp://HOST:PORT | unix:///PATH forward.to, `warden sink --listen`

/** Thrown when an address cannot be used; names the key and the value. */
export class AddressError extends Error {
  override name = 'AddressError';
  constructor(
    readonly key: string,
    /** What is wrong, without key or value: the schema puts those around it. */
    readonly reason: string,
    readonly value: string,
  ) {
    super(`${key}: ${reason} (got ${JSON.stringify(value)})`);
  }
}

export type ForwardAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface AddressOptions {
  /** The config key (or flag) the address came from, for the error. */
  key: string;
  /** Port 0 (any free port) is allowed only where warden listens and reports what it bound. */
  anyPort?: boolean;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/\s[\]]+)):(\d+)$/;

/** `HOST:PORT`, HOST a name, an IPv4 address or `[v6]`. */
export function parseHostPort(s: string, opts: AddressOptions): { host: string; port: number } {
  const m = HOST_PORT.exec(s);
  if (!m) throw new AddressError(opts.key, 'must be HOST:PORT, e.g. 0.0.0.0:9880', s);
  return { host: m[1] ?? m[2]!, port: port(m[3]!, s, opts) };
}

/** `tcp://HOST:PORT` or `unix:///absolute/path.sock`. */
export function parseForwardAddress(s: string, opts: AddressOptions): ForwardAddress {
  if (s.startsWith('tcp://')) {
    const m = HOST_PORT.exec(s.slice('tcp://'.length));
    if (m) return { kind: 'tcp', host: m[1] ?? m[2]!, port: port(m[3]!, s, opts) };
  }
  const unix = /^unix:\/\/(\/.+)$/.exec(s);
  if (unix) return { kind: 'unix', path: unix[1]! };
  throw new AddressError(opts.key, 'must be tcp://HOST:PORT or unix:///PATH', s);
}

function port(digits: string, s: string, opts: AddressOptions): number {
  const n = digits.length <= 5 ? Number(digits) : Infinity;
  const min = opts.anyPort ? 0 : 1;
  if (n < min || n > 65535) throw new AddressError(opts.key, `port must be ${min}–65535`, s);
  return n;
}
