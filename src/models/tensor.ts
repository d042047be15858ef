/**
 * Tensors as Quiver passes them around: Open Inference Protocol v2 datatypes over typed arrays, so a
 * batch crosses to a worker thread as transferable memory, never as JSON. This module converts OIP
 * JSON inputs (flat or nested, row-major) into tensors, validating every element once at the edge,
 * and tensors back into OIP JSON. The datatype tables live in datatypes.ts and are re-exported here,
 * so callers import tensors from one place.
 *
 * @example
 *   const t = tensorFromJson({ name: 'features', datatype: 'FP32', shape: [1, 2], data: [[0.5, 1]] }, 0);
 *   // t.data is Float32Array [0.5, 1]
 *   tensorToJson(t); // { name: 'features', datatype: 'FP32', shape: [1, 2], data: [0.5, 1] }
 */
import { quiverError } from '../errors.ts';
import {
  allocateData,
  DATATYPE_TO_ORT,
  elementCount,
  isDatatype,
  type Datatype,
  type TensorData,
} from './datatypes.ts';
import { FP16_MAX, fromHalfBits, toHalfBits } from './fp16.ts';

export {
  allocateData,
  DATATYPE_TO_ORT,
  datatypeFromOrt,
  elementCount,
  isDatatype,
  type Datatype,
  type OrtElementType,
  type TensorData,
} from './datatypes.ts';

export interface Tensor {
  name: string;
  datatype: Datatype;
  /** Row-major; the first dimension is the batch dimension for batched models. */
  shape: number[];
  /** Flat, row-major; length = product of shape. */
  data: TensorData;
}

/** OIP JSON form of a tensor (flat data). */
export interface JsonTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: number[] | boolean[] | string[];
}

/** A zero-filled tensor (empty strings for BYTES). */
export function zerosTensor(name: string, datatype: Datatype, shape: number[]): Tensor {
  const count = elementCount(shape);
  const data = datatype === 'BYTES' ? new Array<string>(count).fill('') : allocateData(datatype, count);
  return { name, datatype, shape, data };
}

const FP32_MAX = 3.4028234663852886e38;
const INT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  UINT8: [0, 0xff],
  INT8: [-0x80, 0x7f],
  UINT16: [0, 0xffff],
  INT16: [-0x8000, 0x7fff],
  UINT32: [0, 0xffffffff],
  INT32: [-0x80000000, 0x7fffffff],
};
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function invalid(name: string, reason: string): Error {
  return quiverError('QUIVER_ERR_INVALID_TENSOR', { name, reason }, { details: { tensor: name } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates one OIP JSON input (`inputs[index]`) and converts it to a tensor. Data may be flat or
 * nested up to the tensor's rank; its element count must equal the product of the shape and every
 * element must fit the datatype (FP*: finite numbers in range; INT*: integers in range, INT64/UINT64
 * as safe integers or bigints; BOOL: booleans; BYTES: strings).
 * Throws QUIVER_ERR_INVALID_TENSOR naming the tensor and the problem.
 */
export function tensorFromJson(input: unknown, index: number): Tensor {
  const label =
    isRecord(input) && typeof input.name === 'string' && input.name !== '' ? input.name : `inputs[${index}]`;
  if (!isRecord(input)) throw invalid(label, 'expected an object {name, shape, datatype, data}');
  const { name, shape, datatype, data } = input;
  if (typeof name !== 'string' || name === '') throw invalid(label, 'name must be a non-empty string');
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw invalid(name, `shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (!isDatatype(datatype)) {
    throw invalid(
      name,
      `unknown datatype ${describe(datatype)}; expected one of ${Object.keys(DATATYPE_TO_ORT).join(', ')}`,
    );
  }
  if (!Array.isArray(data)) throw invalid(name, `data must be an array, got ${describe(data)}`);
  const dims = shape as number[];
  const flat = flatten(name, data, dims.length);
  const expected = elementCount(dims);
  if (flat.length !== expected) {
    throw invalid(name, `shape [${dims.join(',')}] needs ${expected} elements, got ${flat.length}`);
  }
  return { name, datatype, shape: dims, data: convert(name, datatype, flat) };
}

/**
 * The `inputs` array of an OIP infer request, by name (a prototype-free record, so an input named
 * "constructor" is just a name). A repeated name is an error.
 */
export function tensorsFromJson(inputs: unknown): Record<string, Tensor> {
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
      reason: '"inputs" must be a non-empty array of tensors',
    });
  }
  const byName = Object.create(null) as Record<string, Tensor>;
  inputs.forEach((input: unknown, index) => {
    const tensor = tensorFromJson(input, index);
    if (Object.hasOwn(byName, tensor.name)) throw invalid(tensor.name, 'appears more than once in inputs');
    byName[tensor.name] = tensor;
  });
  return byName;
}

/** Nested data (row-major) becomes one flat array; flat data is used as is, without a copy. */
function flatten(name: string, data: unknown[], rank: number): unknown[] {
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (level: unknown[], depth: number): void => {
    for (const value of level) {
      if (!Array.isArray(value)) out.push(value);
      else if (depth >= rank) throw invalid(name, `data is nested deeper than the shape's rank ${rank}`);
      else walk(value, depth + 1);
    }
  };
  walk(data, 1);
  return out;
}

function convert(name: string, datatype: Datatype, flat: unknown[]): TensorData {
  const bad = (i: number, needs: string): Error =>
    invalid(name, `data[${i}] is ${describe(flat[i])}; ${datatype} needs ${needs}`);
  const count = flat.length;
  switch (datatype) {
    case 'BYTES': {
      for (let i = 0; i < count; i++) if (typeof flat[i] !== 'string') throw bad(i, 'a string');
      return flat.slice() as string[];
    }
    case 'BOOL': {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'boolean') throw bad(i, 'a boolean');
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'FP32':
    case 'FP64':
    case 'FP16': {
      const max = datatype === 'FP32' ? FP32_MAX : datatype === 'FP16' ? FP16_MAX : Number.MAX_VALUE;
      const out = allocateData(datatype, count) as Float32Array | Float64Array | Uint16Array;
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(i, 'a finite number');
        if (v > max || v < -max) throw bad(i, `a number within ±${max}`);
        out[i] = datatype === 'FP16' ? toHalfBits(v) : v;
      }
      return out;
    }
    case 'INT64':
    case 'UINT64': {
      const min = datatype === 'INT64' ? INT64_MIN : 0n;
      const max = datatype === 'INT64' ? INT64_MAX : UINT64_MAX;
      const out = datatype === 'INT64' ? new BigInt64Array(count) : new BigUint64Array(count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        // Above 2^53 a JSON number has already lost precision, so only safe integers are trusted.
        const big = Number.isSafeInteger(v) ? BigInt(v as number) : typeof v === 'bigint' ? v : undefined;
        if (big === undefined) throw bad(i, 'a safe integer');
        if (big < min || big > max) throw bad(i, `an integer in [${min}, ${max}]`);
        out[i] = big;
      }
      return out;
    }
    default: {
      const [min, max] = INT_RANGES[datatype]!;
      const out = allocateData(datatype, count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
          throw bad(i, `an integer in [${min}, ${max}]`);
        }
        out[i] = v;
      }
      return out;
    }
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** OIP JSON form with flat data: INT64/UINT64 become numbers (exact up to 2^53), BOOL booleans, FP16 numbers. */
export function tensorToJson(tensor: Tensor): JsonTensor {
  const { name, datatype, shape, data } = tensor;
  return { name, datatype, shape: [...shape], data: jsonData(datatype, data) };
}

function jsonData(datatype: Datatype, data: TensorData): number[] | boolean[] | string[] {
  if (Array.isArray(data)) return data.slice();
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  if (datatype === 'BOOL') return Array.from(data, (v) => v !== 0);
  if (datatype === 'FP16') return Array.from(data, fromHalfBits);
  return Array.from(data);
}
