import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../examples/fraud/generate.ts';
import { JsonBytes } from './json-bytes.ts';
import { responseBuffers } from './response-buffers.ts';

function written(write: (w: JsonBytes) => void, initialBytes?: number): string {
  const w = new JsonBytes(initialBytes);
  write(w);
  return w.take().toString('utf8');
}

describe('JsonBytes', () => {
  it('writes numbers exactly as JSON.stringify does', () => {
    const random = seededRandom(5);
    const values = [
      0,
      -0,
      1,
      -1,
      9,
      10,
      99,
      100,
      123456789,
      -987654321,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      2 ** 53 + 2,
      1e21,
      -1e21,
      1e-7,
      0.1,
      0.30000000000000004,
      Math.fround(0.1),
      5e-324,
      Number.MAX_VALUE,
      NaN,
      Infinity,
      -Infinity,
    ];
    for (let i = 0; i < 2000; i++) {
      const scale = 10 ** Math.floor(random() * 30 - 15);
      values.push(
        (random() - 0.5) * scale,
        Math.round((random() - 0.5) * scale),
        Math.fround(random() * scale),
      );
    }
    for (const v of values)
      expect(
        written((w) => w.number(v)),
        String(v),
      ).toBe(JSON.stringify(v));
  });

  it('writes hundreds of thousands of doubles of every shape exactly as JSON.stringify does', () => {
    const random = seededRandom(8);
    const w = new JsonBytes();
    const values: number[] = [1e-6, 9.99999e-7, 1e15 - 0.5, 1e15, 1e15 + 2, 123456789012345.6, 0.1 + 0.2];
    for (let i = 0; i < 60_000; i++) {
      const sign = random() < 0.5 ? -1 : 1;
      const magnitude = 10 ** Math.floor(random() * 44 - 22);
      const digits = 1 + Math.floor(random() * 17);
      values.push(
        sign * random() * magnitude, // full-precision doubles
        sign * Math.fround(random() * magnitude), // float32 values widened
        sign * Number((random() * magnitude).toPrecision(digits)), // short decimals
        (sign * Math.round(random() * 10 ** digits)) / 10 ** Math.floor(random() * 12), // prices, ratios
        Number.parseFloat(Math.fround(sign * random() * 1e4).toPrecision(9)), // stored float32 decimals
      );
    }
    let mismatches = 0;
    for (const v of values) {
      w.number(v);
      const got = w.take().toString('latin1');
      if (got !== JSON.stringify(v)) {
        mismatches++;
        expect(got, `for ${JSON.stringify(v)}`).toBe(JSON.stringify(v));
      }
    }
    expect(mismatches).toBe(0);
  });

  it('writes strings exactly as JSON.stringify does, escapes and non-ASCII included', () => {
    const samples = [
      '',
      'plain',
      'with "quotes"',
      'back\\slash',
      'tab\there',
      'nl\n',
      '\u0000\u001f\u007f',
      'ünïcødé',
      '🎯',
      '\ud800 lone',
      'end \udfff',
      'a/b',
    ];
    for (const s of samples) expect(written((w) => w.string(s))).toBe(JSON.stringify(s));
  });

  it('writes any other value through JSON.stringify', () => {
    for (const v of [null, true, false, [1, 'x'], { a: 1 }, undefined])
      expect(written((w) => w.value(v))).toBe(JSON.stringify(v) ?? 'null');
  });

  it('grows past its initial size without losing what was written, and take() starts afresh', () => {
    const w = new JsonBytes(8);
    const parts: string[] = [];
    w.byte(0x5b);
    for (let i = 0; i < 500; i++) {
      if (i > 0) w.comma();
      w.string(`item ${i} ✓`);
      parts.push(JSON.stringify(`item ${i} ✓`));
    }
    w.byte(0x5d);
    expect(w.take().toString('utf8')).toBe(`[${parts.join(',')}]`);
    w.number(42);
    expect(w.take().toString('utf8')).toBe('42');
  });

  it('lets a scratch buffer grown past 1 MiB go after use, and keeps working', () => {
    const w = new JsonBytes(16);
    const big = 'x'.repeat(2 * 1024 * 1024);
    w.string(big);
    expect(w.take().length).toBe(big.length + 2);
    w.number(7);
    expect(w.take().toString('utf8')).toBe('7');
  });

  it('writes a view of an earlier range again, also after the answer moved to a bigger slab', () => {
    const w = new JsonBytes(8);
    w.raw(Buffer.from('xy'));
    expect(w.take().toString('utf8')).toBe('xy'); // this answer starts inside the slab
    w.raw(Buffer.from('[1,2],'));
    const part = w.view(0, w.position);
    for (let i = 0; i < 20; i++) w.raw(part); // grows the slab several times
    w.unwrite(1); // the last comma
    expect(w.take().toString('utf8')).toBe(`${'[1,2],'.repeat(21).slice(0, -1)}`);
  });

  it('hands out answers that later answers never overwrite, across slabs and after a large one', () => {
    const w = new JsonBytes(64);
    const kept: { bytes: Buffer; text: string }[] = [];
    for (let i = 0; i < 200; i++) {
      // Sizes around the slab's, so answers end near, at and past its end; every 50th is a large one.
      const text = i % 50 === 49 ? 'L'.repeat(20_000 + i) : `answer ${i} ${'x'.repeat((i * 7) % 90)}`;
      w.byte(0x5b);
      w.string(text);
      const text1 = w.view(1, w.position);
      w.comma();
      w.raw(text1);
      w.byte(0x5d);
      kept.push({ bytes: w.take(), text: JSON.stringify([text, text]) });
    }
    for (const { bytes, text } of kept) expect(bytes.toString('utf8')).toBe(text);
    // Large answers come from the recycled pool, so the server can give them back once sent.
    expect(responseBuffers.owns(kept[49]!.bytes)).toBe(true);
    expect(responseBuffers.owns(kept[48]!.bytes)).toBe(false);
  });

  it('reset() drops a half-written response', () => {
    const w = new JsonBytes();
    w.ascii('[1]');
    const first = w.take();
    w.ascii('{"half":');
    w.reset();
    w.ascii('{}');
    expect(w.take().toString('utf8')).toBe('{}');
    expect(first.toString('utf8')).toBe('[1]');
  });

  it('writes event times as quoted RFC 3339, the extended years through the string form', () => {
    const times = [0, Date.UTC(2024, 1, 29, 12, 30, 5, 7), Date.UTC(12000, 0, 1), Date.UTC(-5, 0, 1)];
    const text = written((w) => {
      w.ascii('[');
      times.forEach((ms, i) => {
        if (i > 0) w.comma();
        w.timestamp(ms);
      });
      w.ascii(']');
    }, 8); // a tiny start: every timestamp has to grow the buffer
    expect(JSON.parse(text)).toEqual([
      '1970-01-01T00:00:00Z',
      '2024-02-29T12:30:05.007Z',
      new Date(Date.UTC(12000, 0, 1)).toISOString(),
      new Date(Date.UTC(-5, 0, 1)).toISOString(),
    ]);
  });
});
