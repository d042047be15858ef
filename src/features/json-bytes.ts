/**
 * Writes JSON text straight into bytes. Building a response as a JS string costs more than it
 * looks on the hot path: every `+=` makes a rope node, and the socket write must then flatten the
 * rope and encode it to UTF-8 (measured: ~60k instructions per 1-entity response, as much as the
 * whole HTTP exchange). Here numbers, names and constants go straight into a slab of memory, and
 * `take()` hands out the response's bytes as a view of it (see take() for why not a copy).
 *
 * Output equals JSON.stringify's for the same values: non-finite numbers as null, strings escaped
 * the same way (lone surrogates included).
 */
import { MIN_POOLED_BYTES, responseBuffers } from './response-buffers.ts';
import { formatTimestamp, QUOTED_TIMESTAMP_BYTES, writeQuotedTimestamp } from './timestamp.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NULL_BYTES = Buffer.from('null');
/** A slab grown past this (by one huge answer) is dropped after use. */
const KEEP_AT_MOST = 1024 * 1024;

const POW10 = Array.from({ length: 17 }, (_, i) => 10 ** i);

/** Decimal digits of a safe integer ≥ 0 (comparisons only: a division costs ~15 cycles). */
function digitCount(v: number): number {
  let n = 1;
  while (n < 16 && v >= POW10[n]!) n++;
  return n;
}

/** Writes the digits of a safe integer ≥ 0 so that they end at `end`; returns `end`. */
function writeDigits(buf: Buffer, v: number, end: number): number {
  let at = end;
  if (v <= 0x7fffffff) {
    // int32 arithmetic: the JIT turns division by 10 into a multiply and shift.
    let n = v | 0;
    do {
      const next = (n / 10) | 0;
      buf[--at] = 0x30 + n - next * 10;
      n = next;
    } while (n !== 0);
    return end;
  }
  do {
    const next = Math.floor(v / 10);
    buf[--at] = 0x30 + (v - next * 10);
    v = next;
  } while (v !== 0);
  return end;
}

export class JsonBytes {
  /** The slab being written: answers are carved from it one after another. */
  private buf: Buffer;
  /** Where the answer being written begins in `buf`. */
  private start = 0;
  private pos = 0;

  /** `slabBytes`: the size of each slab (larger answers get a slab of their own). */
  constructor(private readonly slabBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(slabBytes);
  }

  /**
   * The bytes written since the last take(). A small answer is a view of the slab it was written
   * in, whose bytes are never written again (the next answer follows it; a full slab is left to the
   * GC with the answers still using it): no copy and no allocation of its own. Copying each answer
   * out into a fresh Buffer cost ~20% of a one-entity response (Node's 8 KiB Buffer pool runs out
   * every fourth answer, and each new pool is a malloc, often with a malloc_consolidate; paired
   * loop, old/new ~0.88). A large answer is copied into memory from responseBuffers, which
   * whoever sends it gives back once written, and the next answer is written over its slab space.
   */
  take(): Buffer {
    const length = this.pos - this.start;
    let out: Buffer;
    if (length >= MIN_POOLED_BYTES) {
      out = responseBuffers.acquire(length);
      this.buf.copy(out, 0, this.start, this.pos);
      this.pos = this.start;
    } else {
      out = this.buf.subarray(this.start, this.pos);
      this.start = this.pos;
    }
    // One 10,000-entity answer must not pin megabytes of slab for the process's lifetime.
    if (this.buf.length > KEEP_AT_MOST) this.newSlab(0);
    return out;
  }

  /** Drops what was written (after an exception mid-response). */
  reset(): void {
    this.pos = this.start;
  }

  private ensure(extra: number): void {
    if (this.pos + extra > this.buf.length) this.newSlab(extra);
  }

  /** Moves the answer being written to a new slab with room for `extra` more bytes. */
  private newSlab(extra: number): void {
    const length = this.pos - this.start;
    const old = this.buf;
    this.buf = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, 2 * (length + extra)));
    old.copy(this.buf, 0, this.start, this.pos);
    this.start = 0;
    this.pos = length;
  }

  /** Bytes written so far (an offset for view()). */
  get position(): number {
    return this.pos - this.start;
  }

  /**
   * Bytes [start, end) written in this response, as a view to pass to raw() later in it: for a part
   * repeated many times. Stays valid if the answer moves to a new slab (the old memory is left as it
   * was); take() ends its use.
   */
  view(start: number, end: number): Uint8Array {
    return this.buf.subarray(this.start + start, this.start + end);
  }

  /** Takes back the last `count` bytes written. */
  unwrite(count: number): void {
    this.pos -= count;
  }

  byte(code: number): void {
    this.ensure(1);
    this.buf[this.pos++] = code;
  }

  comma(): void {
    this.byte(COMMA);
  }

  /** Pre-encoded JSON (names, constant arrays). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    // TypedArray#set even for short parts: measured ~300 instructions for 80 bytes, where a JS
    // byte loop takes ~1,200 (each typed-array store is checked and boxed-index heavy).
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Text known to be ASCII and valid JSON as it stands (a formatted number, a timestamp). */
  ascii(text: string): void {
    const n = text.length;
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = text.charCodeAt(i);
    this.pos = pos;
  }

  /** An event time as a quoted RFC 3339 string (timestamp.ts), written without building a string. */
  timestamp(ms: number): void {
    this.ensure(QUOTED_TIMESTAMP_BYTES);
    const end = writeQuotedTimestamp(this.buf, this.pos, ms);
    if (end >= 0) this.pos = end;
    else this.string(formatTimestamp(ms));
  }

  /** A JSON number; NaN and ±Infinity become null, as JSON.stringify writes them. */
  number(value: number): void {
    if (Number.isSafeInteger(value)) this.integer(value);
    else if (!Number.isFinite(value)) this.raw(NULL_BYTES);
    else if (!this.shortDecimal(value)) this.ascii(String(value));
  }

  /**
   * Writes a non-integer the way Number#toString does, without its cost (~2k instructions per
   * double through V8's dtoa and number-string cache, the largest single item of a response).
   * It looks for the fewest fractional digits f whose decimal M / 10^f reads back as exactly
   * `value`, with M below 10^10 (float32 values and decimal data need at most 9 digits). Why this is toString's answer: fewer fractional digits means
   * fewer significant digits at a given magnitude, so the first f that works gives the shortest
   * representation; any decimal of at most 15 significant digits round-trips, so two of them
   * never read back as the same double and the shortest is unique; and M = round(value × 10^f)
   * is off from the exact product by under 0.25 when M < 10^15, so rounding finds it. Anything
   * else (over 10 digits, exponent notation below 1e-6 or at 1e15 and above) goes to String().
   * A property test holds it to JSON.stringify over hundreds of thousands of doubles.
   */
  private shortDecimal(value: number): boolean {
    const abs = value < 0 ? -value : value;
    if (abs < 1e-6 || abs >= 1e15) return false;
    let scale = 1;
    for (let fraction = 1; fraction <= 15; fraction++) {
      scale *= 10; // exact: powers of ten up to 1e22 are doubles
      const m = Math.round(abs * scale);
      // Past 10 significant digits, give up: such a double almost always needs 16–17 (float64
      // noise), and the search would cost more than String() (the argument holds to 1e15).
      if (m >= 1e10) return false;
      if (m / scale === abs) {
        this.decimal(value < 0, m, fraction);
        return true;
      }
    }
    return false;
  }

  /** Writes m × 10^-fraction in fixed notation (m > 0 has no trailing zero). */
  private decimal(negative: boolean, m: number, fraction: number): void {
    const digits = digitCount(m);
    const zeros = fraction >= digits ? fraction - digits : 0;
    this.ensure(digits + zeros + 3);
    const buf = this.buf;
    if (negative) buf[this.pos++] = 0x2d;
    if (fraction >= digits) {
      buf[this.pos++] = 0x30;
      buf[this.pos++] = 0x2e;
      for (let i = 0; i < zeros; i++) buf[this.pos++] = 0x30;
      this.pos = writeDigits(buf, m, this.pos + digits);
      return;
    }
    // Integer part, point, then the fraction's digits: m = high × 10^fraction + low.
    const scale = POW10[fraction]!;
    const high = Math.floor(m / scale);
    const end = this.pos + digits + 1;
    writeDigits(buf, high, end - fraction - 1);
    buf[end - fraction - 1] = 0x2e;
    let low = m - high * scale;
    for (let at = end - 1; at >= end - fraction; at--) {
      const next = Math.floor(low / 10);
      buf[at] = 0x30 + (low - next * 10);
      low = next;
    }
    this.pos = end;
  }

  private integer(value: number): void {
    this.ensure(17);
    const buf = this.buf;
    if (value < 0) {
      buf[this.pos++] = 0x2d;
      value = -value;
    }
    this.pos = writeDigits(buf, value, this.pos + digitCount(value));
  }

  /** A quoted JSON string. */
  string(text: string): void {
    const n = text.length;
    this.ensure(n + 2);
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    buf[pos++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      // Printable ASCII other than " and \ is copied as is; anything else takes the exact path.
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
        this.pos = start;
        this.escaped(text);
        return;
      }
      buf[pos++] = c;
    }
    buf[pos++] = QUOTE;
    this.pos = pos;
  }

  private escaped(text: string): void {
    const json = JSON.stringify(text);
    this.ensure(json.length * 3);
    this.pos += this.buf.write(json, this.pos, 'utf8');
  }

  /** Any JSON value, through JSON.stringify (for the rare shapes the typed writers do not cover). */
  value(value: unknown): void {
    if (typeof value === 'number') this.number(value);
    else if (typeof value === 'string') this.string(value);
    else {
      const json = JSON.stringify(value) ?? 'null';
      this.ensure(json.length * 3);
      this.pos += this.buf.write(json, this.pos, 'utf8');
    }
  }
}
