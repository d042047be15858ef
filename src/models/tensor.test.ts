import { describe, expect, it } from 'vitest';
import { isQuiverError } from '../errors.ts';
import { fromHalfBits, toHalfBits } from './fp16.ts';
import {
  DATATYPE_TO_ORT,
  datatypeFromOrt,
  tensorFromJson,
  tensorsFromJson,
  tensorToJson,
  zerosTensor,
  type Datatype,
} from './tensor.ts';

function invalidReason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isQuiverError(err) && err.code === 'QUIVER_ERR_INVALID_TENSOR') return err.message;
    throw err;
  }
  throw new Error('expected QUIVER_ERR_INVALID_TENSOR');
}

const fp32 = (data: unknown, shape: number[] = [2, 2]): unknown => ({
  name: 'x',
  datatype: 'FP32',
  shape,
  data,
});

describe('tensorFromJson', () => {
  it('converts flat FP32 data to a Float32Array', () => {
    const t = tensorFromJson(fp32([0.5, 1, -2, 3e38]), 0);
    expect(t).toEqual({
      name: 'x',
      datatype: 'FP32',
      shape: [2, 2],
      data: new Float32Array([0.5, 1, -2, 3e38]),
    });
  });

  it('flattens nested data row-major', () => {
    const t = tensorFromJson(
      {
        name: 'x',
        datatype: 'INT32',
        shape: [2, 2, 2],
        data: [
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
        ],
      },
      0,
    );
    expect(Array.from(t.data as Int32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(
      tensorFromJson(
        fp32([
          [1, 2],
          [3, 4],
        ]),
        0,
      ).data,
    ).toEqual(new Float32Array([1, 2, 3, 4]));
  });

  it.each<[Datatype, unknown[], unknown]>([
    ['FP64', [0.1, -1e300], new Float64Array([0.1, -1e300])],
    ['INT64', [-(2 ** 53) + 1, 42], new BigInt64Array([-(2n ** 53n) + 1n, 42n])],
    ['UINT64', [0, 2 ** 53 - 1], new BigUint64Array([0n, 2n ** 53n - 1n])],
    ['BOOL', [true, false], new Uint8Array([1, 0])],
    ['BYTES', ['a', ''], ['a', '']],
    ['UINT8', [0, 255], new Uint8Array([0, 255])],
    ['INT8', [-128, 127], new Int8Array([-128, 127])],
    ['INT16', [-32768, 32767], new Int16Array([-32768, 32767])],
    ['UINT16', [0, 65535], new Uint16Array([0, 65535])],
    ['UINT32', [0, 4294967295], new Uint32Array([0, 4294967295])],
    ['INT32', [-2147483648, 2147483647], new Int32Array([-2147483648, 2147483647])],
    ['FP16', [1.5, -65504], new Uint16Array([0x3e00, 0xfbff])],
  ])('converts %s', (datatype, data, expected) => {
    expect(tensorFromJson({ name: 'x', datatype, shape: [2], data }, 0).data).toEqual(expected);
  });

  it('accepts INT64 bigints (msgpack) and scalars of shape []', () => {
    expect(tensorFromJson({ name: 'x', datatype: 'INT64', shape: [1], data: [2n ** 62n] }, 0).data).toEqual(
      new BigInt64Array([2n ** 62n]),
    );
    expect(tensorFromJson({ name: 's', datatype: 'FP32', shape: [], data: [7] }, 0).shape).toEqual([]);
  });

  it('names the element count problem', () => {
    const data = Array.from({ length: 31 }, () => 0);
    expect(invalidReason(() => tensorFromJson(fp32(data, [2, 16]), 0))).toBe(
      'Invalid tensor "x": shape [2,16] needs 32 elements, got 31',
    );
  });

  it.each<[string, unknown, string]>([
    ['NaN', NaN, 'data[1] is NaN; FP32 needs a finite number'],
    ['Infinity', Infinity, 'data[1] is Infinity; FP32 needs a finite number'],
    ['a string', '1.5', 'data[1] is "1.5"; FP32 needs a finite number'],
    ['null', null, 'data[1] is null; FP32 needs a finite number'],
    ['a value beyond FP32', 1e39, 'data[1] is 1e+39; FP32 needs a number within ±3.4028234663852886e+38'],
  ])('rejects %s in FP32 data', (_, value, reason) => {
    expect(invalidReason(() => tensorFromJson(fp32([0, value, 0, 0]), 0))).toBe(
      `Invalid tensor "x": ${reason}`,
    );
  });

  it.each<[Datatype, unknown, string]>([
    ['INT32', 2 ** 31, 'INT32 needs an integer in [-2147483648, 2147483647]'],
    ['INT32', 1.5, 'INT32 needs an integer in'],
    ['UINT8', -1, 'UINT8 needs an integer in [0, 255]'],
    ['INT64', 2 ** 53, 'INT64 needs a safe integer'],
    ['INT64', '12', 'INT64 needs a safe integer'],
    ['UINT64', -1, 'UINT64 needs an integer in [0, 18446744073709551615]'],
    ['BOOL', 1, 'BOOL needs a boolean'],
    ['BYTES', 1, 'BYTES needs a string'],
    ['FP16', 70000, 'FP16 needs a number within ±65504'],
  ])('rejects a bad %s element', (datatype, value, reason) => {
    expect(
      invalidReason(() => tensorFromJson({ name: 't', datatype, shape: [1], data: [value] }, 0)),
    ).toContain(reason);
  });

  it('rejects malformed tensors, naming them by index when they have no name', () => {
    expect(invalidReason(() => tensorFromJson(null, 3))).toContain('"inputs[3]": expected an object');
    expect(invalidReason(() => tensorFromJson({ shape: [1], datatype: 'FP32', data: [1] }, 1))).toContain(
      '"inputs[1]": name must be a non-empty string',
    );
    expect(invalidReason(() => tensorFromJson(fp32([1], [-1]), 0))).toContain(
      'shape must be an array of non-negative integers',
    );
    expect(
      invalidReason(() => tensorFromJson({ name: 'x', datatype: 'FLOAT', shape: [1], data: [1] }, 0)),
    ).toContain('unknown datatype "FLOAT"');
    expect(invalidReason(() => tensorFromJson(fp32('1,2,3,4'), 0))).toContain('data must be an array');
    expect(invalidReason(() => tensorFromJson(fp32([[[1, 2]], [[3, 4]]], [2, 2]), 0))).toContain(
      'nested deeper than',
    );
  });
});

describe('tensorsFromJson', () => {
  it('indexes inputs by name and rejects repeats', () => {
    const byName = tensorsFromJson([
      fp32([1, 2, 3, 4]),
      { name: 'constructor', datatype: 'BOOL', shape: [1], data: [true] },
    ]);
    expect(Object.keys(byName)).toEqual(['x', 'constructor']);
    expect(invalidReason(() => tensorsFromJson([fp32([1, 2, 3, 4]), fp32([1, 2, 3, 4])]))).toContain(
      'appears more than once',
    );
    expect(() => tensorsFromJson({})).toThrow(
      expect.objectContaining({ code: 'QUIVER_ERR_INVALID_REQUEST' }),
    );
  });
});

describe('tensorToJson', () => {
  it('returns flat plain arrays: INT64 as numbers, BOOL as booleans, FP16 as numbers', () => {
    const shape = [1, 2];
    expect(
      tensorToJson({ name: 'a', datatype: 'INT64', shape, data: new BigInt64Array([1n, -2n]) }).data,
    ).toEqual([1, -2]);
    expect(tensorToJson({ name: 'b', datatype: 'BOOL', shape, data: new Uint8Array([1, 0]) }).data).toEqual([
      true,
      false,
    ]);
    expect(
      tensorToJson({ name: 'c', datatype: 'FP16', shape, data: new Uint16Array([0x3c00, 0xc000]) }).data,
    ).toEqual([1, -2]);
    expect(tensorToJson({ name: 'd', datatype: 'FP32', shape, data: new Float32Array([0.5, 2]) })).toEqual({
      name: 'd',
      datatype: 'FP32',
      shape: [1, 2],
      data: [0.5, 2],
    });
  });

  it('round-trips through tensorFromJson', () => {
    const json = { name: 'x', datatype: 'INT32' as const, shape: [3], data: [1, -2, 3] };
    expect(tensorToJson(tensorFromJson(json, 0))).toEqual(json);
  });
});

describe('datatypes', () => {
  it('map to onnxruntime element types and back', () => {
    for (const [datatype, ort] of Object.entries(DATATYPE_TO_ORT))
      expect(datatypeFromOrt(ort)).toBe(datatype);
    expect(datatypeFromOrt('complex64')).toBeUndefined();
  });

  it('zerosTensor fills with zeros or empty strings', () => {
    expect(zerosTensor('z', 'INT64', [1, 2]).data).toEqual(new BigInt64Array(2));
    expect(zerosTensor('z', 'BYTES', [2]).data).toEqual(['', '']);
  });
});

describe('fp16', () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [Infinity, 0x7c00],
  ])('encodes and decodes %d exactly', (value, bits) => {
    expect(toHalfBits(value)).toBe(bits);
    expect(fromHalfBits(bits)).toBe(value);
  });

  it('rounds to nearest, ties to even, and overflows to Infinity', () => {
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalfBits(0.1)).toBe(0x2e66);
    expect(toHalfBits(1e6)).toBe(0x7c00);
    expect(fromHalfBits(toHalfBits(NaN))).toBeNaN();
  });
});
