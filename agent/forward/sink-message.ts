// One Forward message of any of the four event modes, validated: its records become NDJSON lines
// for the sink's output (or are only counted), and its chunk id, if any, is what to ack.
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { EventTime, textify, text } from './codec.js';
import { checkEntry, checkRecord, checkTime, describe } from './decode.js';
import { ForwardProtocolError } from './errors.js';
import type { NdjsonLines, Output } from './sink-output.js';
import { unpackMulti } from './unpack.js';
import { countPackedEntries } from './walk.js';

const gunzip = promisify(gunzipCb);

/** What a message needs from its connection: where lines go (null: count only) and what it counts. */
export interface MessageContext {
  out: Output | null;
  lines: NdjsonLines;
  stats: { records: number; chunks: number };
  /** The largest message taken, and the largest its entries may grow to once gunzipped. */
  maxMessageBytes: number;
}

/** A mode's records read: the message's option (unchecked) and how many records it held. */
interface Read {
  option: unknown;
  count: number;
}

/** Validate one Forward message, write its records, and return the chunk id to ack, if any. */
export async function handleMessage(msg: unknown, ctx: MessageContext): Promise<{ chunk?: string }> {
  if (!Array.isArray(msg) || msg.length < 2 || msg.length > 4 || !(msg[0] instanceof Uint8Array)) {
    throw new ForwardProtocolError(`expected [tag, …] Forward message (got ${describe(msg)})`);
  }
  const tag = text(msg[0]) as string;
  const second: unknown = msg[1];
  const lines: string[] | null = ctx.out ? [] : null;
  let read: Read;
  if (second instanceof EventTime || typeof second === 'number') read = messageMode(msg, tag, second, lines, ctx.lines);
  else if (Array.isArray(second)) read = forwardMode(msg, tag, second, lines, ctx.lines);
  else if (second instanceof Uint8Array) read = await packedForward(msg, tag, second, lines, ctx);
  else throw new ForwardProtocolError(`tag ${JSON.stringify(tag)}: second element must be time, entries array or bin (got ${describe(second)})`);
  checkOption(read.option);

  if (ctx.out && lines && lines.length > 0) await ctx.out.write(lines.join(''));
  ctx.stats.records += read.count;
  ctx.stats.chunks++;
  const chunk = (read.option as { chunk?: string } | null | undefined)?.chunk;
  return chunk === undefined ? {} : { chunk };
}

/** Message mode: `[tag, time, record, option?]`. */
function messageMode(msg: unknown[], tag: string, time: EventTime | number, lines: string[] | null, ndjson: NdjsonLines): Read {
  checkTime(time, 'Message mode time');
  const record = textify(msg[2]);
  checkRecord(record, 'Message mode record');
  const option = textify(msg[3]);
  lines?.push(ndjson.line(tag, time, record));
  return { option, count: 1 };
}

/** Forward mode: `[tag, [[time, record], ...], option?]`. */
function forwardMode(msg: unknown[], tag: string, entries: unknown[], lines: string[] | null, ndjson: NdjsonLines): Read {
  if (msg.length > 3) throw new ForwardProtocolError(`Forward mode: expected [tag, entries, option?] (got array(${msg.length}))`);
  const option = textify(msg[2]);
  entries.forEach((e, i) => {
    const [t, r] = checkEntry(textify(e), i);
    lines?.push(ndjson.line(tag, t, r));
  });
  return { option, count: entries.length };
}

/** (Compressed)PackedForward: `[tag, bin|str(entries), option?]` (str arrives as bytes too). */
async function packedForward(msg: unknown[], tag: string, packed: Uint8Array, lines: string[] | null, ctx: MessageContext): Promise<Read> {
  if (msg.length > 3) throw new ForwardProtocolError(`PackedForward: expected [tag, entries, option?] (got array(${msg.length}))`);
  const option = textify(msg[2]);
  checkOption(option);
  const bin = await uncompressed(packed, (option as { compressed?: unknown } | undefined)?.compressed, ctx.maxMessageBytes);
  // Count-only: walk the entries without building them.
  if (lines === null) return { option, count: countPackedEntries(bin) };
  let count = 0;
  try {
    for (const e of unpackMulti(bin)) {
      const [t, r] = checkEntry(e, count);
      lines.push(ctx.lines.line(tag, t, r));
      count++;
    }
  } catch (err) {
    if (err instanceof ForwardProtocolError) throw err;
    throw new ForwardProtocolError(`PackedForward entries of tag ${JSON.stringify(tag)}: not a msgpack entry stream after entry ${count} (${(err as Error).message})`);
  }
  return { option, count };
}

/**
 * The entries stream as sent (`compressed` absent or "text") or gunzipped ("gzip"), at most
 * `maxBytes` once gunzipped: a few KiB of gzip can stand for gigabytes, and the framer's bound
 * holds only for the bytes as sent.
 */
async function uncompressed(bin: Uint8Array, compressed: unknown, maxBytes: number): Promise<Uint8Array> {
  if (compressed === undefined || compressed === 'text') return bin;
  if (compressed !== 'gzip') throw new ForwardProtocolError(`option compressed: expected "gzip" or "text" (got ${describe(compressed)})`);
  try {
    return await gunzip(bin, { maxOutputLength: maxBytes }); // several concatenated gzip members are read as one stream
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ForwardProtocolError(`CompressedPackedForward: entries larger than ${maxBytes} bytes once gunzipped`);
    }
    throw new ForwardProtocolError(`CompressedPackedForward: bad gzip data (${(err as Error).message})`);
  }
}

function checkOption(option: unknown): void {
  if (option === undefined || option === null) return;
  if (typeof option !== 'object' || Array.isArray(option) || option instanceof Uint8Array) {
    throw new ForwardProtocolError(`option: expected a map (got ${describe(option)})`);
  }
  const chunk = (option as { chunk?: unknown }).chunk;
  if (chunk !== undefined && typeof chunk !== 'string') throw new ForwardProtocolError(`option chunk: expected a string (got ${describe(chunk)})`);
}
