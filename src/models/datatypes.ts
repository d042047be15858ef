/**
 * Open Inference Protocol v2 datatypes, the typed arrays that carry them, and onnxruntime's names
 * for them. Runtime-free: nothing here imports onnxruntime, so the port and HTTP code can use it.
 *
 * @example
 *   DATATYPE_TO_ORT.FP32; // 'float32'
 *   datatypeFromOrt('int64'); // 'INT64'
 */
export type Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'INT8'
  | 'UINT16'
  | 'INT16'
  | 'UINT32'
  | 'INT32'
  | 'UINT64'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** BOOL is a Uint8Array of 0/1 and FP16 a Uint16Array of raw half bits, as onnxruntime expects. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

/** onnxruntime's element type names (`Tensor.Type`), spelled out so this module stays runtime-free. */
export type OrtElementType =
  | 'bool'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'uint32'
  | 'int32'
  | 'uint64'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export const DATATYPE_TO_ORT: Readonly<Record<Datatype, OrtElementType>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  INT8: 'int8',
  UINT16: 'uint16',
  INT16: 'int16',
  UINT32: 'uint32',
  INT32: 'int32',
  UINT64: 'uint64',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const ORT_TO_DATATYPE = new Map<string, Datatype>(
  Object.entries(DATATYPE_TO_ORT).map(([datatype, ort]) => [ort, datatype as Datatype]),
);

/** The OIP datatype of an onnxruntime element type, or undefined when Quiver cannot carry it. */
export function datatypeFromOrt(type: string): Datatype | undefined {
  return ORT_TO_DATATYPE.get(type);
}

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && Object.hasOwn(DATATYPE_TO_ORT, value);
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

export type NumericDatatype = Exclude<Datatype, 'BYTES'>;

/** A zero-filled typed array for `count` elements of a numeric (or BOOL) datatype. */
export function allocateData(datatype: NumericDatatype, count: number): Exclude<TensorData, string[]> {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
      return new Uint8Array(count);
    case 'INT8':
      return new Int8Array(count);
    case 'UINT16':
    case 'FP16':
      return new Uint16Array(count);
    case 'INT16':
      return new Int16Array(count);
    case 'UINT32':
      return new Uint32Array(count);
    case 'INT32':
      return new Int32Array(count);
    case 'UINT64':
      return new BigUint64Array(count);
    case 'INT64':
      return new BigInt64Array(count);
    case 'FP32':
      return new Float32Array(count);
    case 'FP64':
      return new Float64Array(count);
  }
}
