import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { createRecordPackr, readEventTsMs, RecordDecoder, toRecord } from './record-codec.ts';

describe('readEventTsMs', () => {
  const packr = createRecordPackr();
  // One timestamp per msgpack number encoding msgpackr may choose, including ones it never emits.
  const timestamps = [
    0,
    1,
    127,
    128,
    255,
    256,
    65_535,
    65_536,
    2 ** 32 - 1,
    2 ** 32,
    Date.now(),
    -1,
    -32,
    -33,
    -200,
  ];

  it.each(timestamps)('reads %d as the first element of an encoded record', (eventTsMs) => {
    expect(readEventTsMs(packr.pack(toRecord(eventTsMs, [1, 'x', null])))).toBe(eventTsMs);
  });

  it('reads past array16 and array32 headers', () => {
    const values16 = new Array<number>(20).fill(1);
    expect(readEventTsMs(packr.pack(toRecord(42.5, values16)))).toBe(42.5);
    const array32 = Buffer.concat([Buffer.from([0xdd, 0, 0, 0, 1]), Buffer.from([0xcb]), doubleBE(7.25)]);
    expect(readEventTsMs(array32)).toBe(7.25);
  });

  it('reads the fixed-width integer encodings', () => {
    const cases: [number[], number][] = [
      [[0x91, 0xd0, 0xf6], -10],
      [[0x91, 0xd1, 0xff, 0x38], -200],
      [[0x91, 0xd2, 0xff, 0xff, 0xfe, 0x0c], -500],
      [[0x91, 0xcf, 0, 0, 1, 0x8b, 0xcf, 0xe5, 0x68, 0], 1_700_000_000_000],
      [[0x91, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], -1],
      [[0x91, 0xca, 0x3f, 0xc0, 0, 0], 1.5],
    ];
    for (const [bytes, expected] of cases) expect(readEventTsMs(Buffer.from(bytes))).toBe(expected);
  });

  it('answers undefined for bytes that are not a record', () => {
    expect(readEventTsMs(Buffer.alloc(0))).toBeUndefined();
    expect(readEventTsMs(pack([]))).toBeUndefined();
    expect(readEventTsMs(pack('text'))).toBeUndefined();
    expect(readEventTsMs(pack(['text', 1]))).toBeUndefined();
    expect(readEventTsMs(Buffer.from([0x91]))).toBeUndefined();
    expect(readEventTsMs(Buffer.from([0x91, 0xcb, 0x42, 0x78]))).toBeUndefined(); // truncated
  });
});

function doubleBE(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return bytes;
}

describe('RecordDecoder', () => {
  const packr = createRecordPackr();
  const records = [
    toRecord(1_700_000_000_000, [1, 2.5, 'NL', null, true]),
    toRecord(5, [-3, 0.1, 'a longer string value', false, [0.5, 1.5]]),
    toRecord(2 ** 33, []),
  ];

  it('decodes values that are slices of one buffer, as a reply lays them out', () => {
    // RESP-like framing bytes between the values, so offsets are not 0.
    const parts = records.map((r) => packr.pack(r));
    const joined = Buffer.concat(parts.flatMap((p) => [Buffer.from('$12\r\n'), p, Buffer.from('\r\n')]));
    const slices: Buffer[] = [];
    let at = 0;
    for (const p of parts) {
      at += 5;
      slices.push(joined.subarray(at, at + p.length));
      at += p.length + 2;
    }
    const decoder = new RecordDecoder();
    expect(slices.map((s) => decoder.decode(s))).toEqual(records);
  });

  it('follows values from different buffers, interleaved, and whole buffers', () => {
    const a = Buffer.concat([Buffer.from('xx'), packr.pack(records[0]), Buffer.from('yy')]);
    const b = packr.pack(records[1]);
    const fromA = a.subarray(2, a.length - 2);
    const decoder = new RecordDecoder();
    expect([fromA, b, fromA, b].map((s) => decoder.decode(s))).toEqual([
      records[0],
      records[1],
      records[0],
      records[1],
    ]);
  });

  it('throws on bytes that are not one whole record', () => {
    const bytes = packr.pack(records[0]);
    expect(() => new RecordDecoder().decode(bytes.subarray(0, bytes.length - 1))).toThrow();
  });
});
