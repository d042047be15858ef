/**
 * The one byte format of a stored record, shared by the LMDB and Redis stores: plain msgpack of
 * `[eventTsMs, ...values]`. Plain means no msgpackr records or shared structures, so any msgpack
 * reader (Redis Lua's cmsgpack, other languages, an operator's debugging script) can decode it.
 */
import { Packr } from 'msgpackr';
import type { Options } from 'msgpackr';
import { describe } from '../features/values.ts';
import type { StoredRow } from './online-store.ts';

export const RECORD_PACK_OPTIONS = {
  // Records would turn objects into msgpackr-only extensions; rows hold no objects, but stay safe.
  useRecords: false,
  // msgpackr encodes `undefined` as an extension that cmsgpack rejects; the port says null anyway.
  encodeUndefinedAsNil: true,
  // Integers beyond 2^32 are written as float64, so reads never produce BigInt from our own data.
  int64AsType: 'number',
} as const satisfies Options;

export function createRecordPackr(): Packr {
  return new Packr(RECORD_PACK_OPTIONS);
}

/**
 * Decodes stored records given as Buffers. Values that are views into one larger buffer (the
 * values of a Redis MGET reply all are slices of the socket chunk they arrived in) are decoded
 * through ONE view of that whole buffer: msgpackr caches a DataView on the Buffer it reads, so a
 * fresh slice per value cost a DataView and a new property each, ~120 bytes per row (sampled heap
 * profile of a 100-entity Redis read: 111 KB allocated per request before, 100 KB after).
 */
export class RecordDecoder {
  readonly #packr = createRecordPackr();
  /** A view of the whole ArrayBuffer the last value lived in, reused while values share it. */
  #whole: Buffer | undefined;
  /** Reused: msgpackr reads the range before it decodes, nothing keeps the object. */
  readonly #range = { start: 0, end: 0 };

  decode(bytes: Buffer): StoredRow {
    let whole = this.#whole;
    if (whole === undefined || whole.buffer !== bytes.buffer) {
      whole = Buffer.from(bytes.buffer, 0, bytes.buffer.byteLength);
      this.#whole = whole;
    }
    this.#range.start = bytes.byteOffset;
    this.#range.end = bytes.byteOffset + bytes.length;
    const row: unknown = this.#packr.unpack(whole, this.#range);
    // Anything else under a view's key (written by another program) must not be served as features.
    if (!Array.isArray(row) || typeof row[0] !== 'number')
      throw new TypeError(`expected a msgpack array [eventTsMs, ...values], got ${describe(row)}`);
    return row as StoredRow;
  }
}

/** Builds the stored array `[eventTsMs, ...values]`. */
export function toRecord(eventTsMs: number, values: readonly unknown[]): unknown[] {
  const record = new Array<unknown>(values.length + 1);
  record[0] = eventTsMs;
  for (let i = 0; i < values.length; i++) record[i + 1] = values[i];
  return record;
}

/** Byte width of each msgpack number encoding after its type byte. */
const NUMBER_WIDTH: Readonly<Record<number, number>> = {
  0xca: 4,
  0xcb: 8,
  0xcc: 1,
  0xcd: 2,
  0xce: 4,
  0xcf: 8,
  0xd0: 1,
  0xd1: 2,
  0xd2: 4,
  0xd3: 8,
};

/**
 * The event timestamp of an encoded record, read from its first bytes without decoding the rest
 * (the stale check of a write needs nothing else). `undefined` when the bytes are not a record.
 */
export function readEventTsMs(bytes: Buffer): number | undefined {
  const header = bytes[0];
  let at: number;
  if (header === undefined) return undefined;
  if (header >= 0x91 && header <= 0x9f) at = 1;
  else if (header === 0xdc) at = 3;
  else if (header === 0xdd) at = 5;
  else return undefined;
  const type = bytes[at];
  if (type === undefined) return undefined;
  if (type <= 0x7f) return type;
  if (type >= 0xe0) return type - 0x100;
  const width = NUMBER_WIDTH[type];
  if (width === undefined || bytes.length < at + 1 + width) return undefined;
  switch (type) {
    case 0xca:
      return bytes.readFloatBE(at + 1);
    case 0xcb:
      return bytes.readDoubleBE(at + 1);
    case 0xcc:
      return bytes.readUInt8(at + 1);
    case 0xcd:
      return bytes.readUInt16BE(at + 1);
    case 0xce:
      return bytes.readUInt32BE(at + 1);
    case 0xcf:
      return Number(bytes.readBigUInt64BE(at + 1));
    case 0xd0:
      return bytes.readInt8(at + 1);
    case 0xd1:
      return bytes.readInt16BE(at + 1);
    case 0xd2:
      return bytes.readInt32BE(at + 1);
    default:
      return Number(bytes.readBigInt64BE(at + 1));
  }
}
