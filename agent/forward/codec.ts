// msgpack as Forward uses it: the EventTime extension (type 0) and the encoders and decoders that
// know it. Encoders and decoders keep buffers and state between calls: each user makes its own.
import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import { EVENT_TIME_MAX_SEC, fitsEventTime } from '../parse/time.js';
import { ForwardProtocolError } from './errors.js';

/** Forward's EventTime: msgpack ext type 0, 8 bytes — uint32 BE seconds, uint32 BE nanoseconds. */
export class EventTime {
  constructor(
    readonly sec: number,
    readonly nsec: number,
  ) {}

  /** Seconds since the epoch as a float (loses nanosecond precision; for display and tests). */
  toNumber(): number {
    return this.sec + this.nsec / 1e9;
  }
}

export const EVENT_TIME_EXT = 0;

/**
 * Throws a RangeError for a time an EventTime cannot hold: seconds are uint32 (1970 to
 * 2106-02-07T06:28:15Z), and `>>> 0` would silently send year 2200 as 2063. The parsers keep
 * record times in range by the same rule (agent/parse/time.ts fitsEventTime); this is the last line.
 */
export function checkEventTime(sec: number, nsec: number): void {
  if (!(fitsEventTime(sec) && nsec >= 0 && nsec < 1e9)) {
    throw new RangeError(`an EventTime holds seconds 0..${EVENT_TIME_MAX_SEC} and nanoseconds 0..999999999 (got ${sec}, ${nsec})`);
  }
}

export const extensionCodec = new ExtensionCodec();
extensionCodec.register({
  type: EVENT_TIME_EXT,
  encode(input: unknown) {
    if (!(input instanceof EventTime)) return null;
    checkEventTime(input.sec, input.nsec);
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, input.sec >>> 0);
    view.setUint32(4, input.nsec >>> 0);
    return out;
  },
  decode(data: Uint8Array) {
    if (data.byteLength !== 8) throw new ForwardProtocolError(`EventTime ext must be 8 bytes (got ${data.byteLength})`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new EventTime(view.getUint32(0), view.getUint32(4));
  },
});

export function newEncoder(): Encoder {
  return new Encoder({ extensionCodec, ignoreUndefined: true });
}

/** A decoder for entries and other complete buffers: str values come back as JS strings. */
export function newDecoder(): Decoder {
  return new Decoder({ extensionCodec });
}

/**
 * The decoder for a connection's message stream (one per stream: it keeps the state of a partly
 * read message). str values come back as raw bytes, because fluentd's out_forward sends
 * PackedForward entries as str 32 and a nonce or salt may be binary; UTF-8 decoding would corrupt
 * both. Map keys stay strings. Use `text` / `textify` on the fields that are text.
 */
export function newStreamDecoder(): Decoder {
  return new Decoder({ extensionCodec, rawStrings: true });
}

const utf8 = new TextDecoder();

/** A str field read by the stream decoder (bytes) as a string; other values pass unchanged. */
export function text(v: unknown): unknown {
  return v instanceof Uint8Array ? utf8.decode(v) : v;
}

/** Deeply turn raw str values (bytes) back into strings: records and options of Message/Forward mode. */
export function textify(v: unknown): unknown {
  if (v instanceof Uint8Array) return utf8.decode(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = textify(v[i]);
    return v;
  }
  if (typeof v === 'object' && v !== null && !(v instanceof EventTime)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = textify(o[k]);
  }
  return v;
}
