/**
 * A minimal, dependency-free protobuf encoder for ONNX ModelProto: enough for small hand-built
 * graphs of float tensors (initializers, nodes without attributes, tensor-typed inputs/outputs).
 * Field numbers follow onnx/onnx.proto (IR version 8). Output is deterministic: the same model
 * definition always encodes to the same bytes.
 */

/** Protobuf wire types used here. */
const VARINT = 0;
const LENGTH_DELIMITED = 2;

/** TensorProto.DataType.FLOAT. */
export const ONNX_FLOAT = 1;

const textEncoder = new TextEncoder();

/** Appends protobuf fields to a growing byte list; `finish()` returns the message bytes. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** A raw base-128 varint (non-negative integers up to 2^53 - 1). */
  rawVarint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`varint must be a non-negative safe integer, got ${value}`);
    const out: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      out.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    out.push(rest);
    this.push(Uint8Array.from(out));
    return this;
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1) throw new RangeError(`bad field number ${field}`);
    this.rawVarint(field * 8 + wireType);
  }

  /** An int32/int64/enum field (wire type 0). */
  varint(field: number, value: number): this {
    this.tag(field, VARINT);
    return this.rawVarint(value);
  }

  /** A bytes / embedded-message field (wire type 2). */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, LENGTH_DELIMITED);
    this.rawVarint(value.length);
    this.push(value);
    return this;
  }

  /** A UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** A packed `repeated float` field: little-endian float32s in one length-delimited record. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    return this.bytes(field, float32LittleEndian(values));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

/** float32 values as little-endian IEEE 754 bytes, whatever the host's endianness. */
export function float32LittleEndian(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** A float32 initializer. `raw` (default) stores raw_data; `float_data` stores packed float_data. */
export interface FloatTensor {
  name: string;
  dims: readonly number[];
  values: ArrayLike<number>;
  encoding?: 'raw' | 'float_data';
}

/** A graph input/output: float32 tensor; a string dim is symbolic (dim_param), a number fixed. */
export interface TensorValueInfo {
  name: string;
  shape: readonly (number | string)[];
}

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly FloatTensor[];
  inputs: readonly TensorValueInfo[];
  outputs: readonly TensorValueInfo[];
}

export interface OnnxModel {
  graph: OnnxGraph;
  /** Default 8. */
  irVersion?: number;
  /** Version of the default ('' = ai.onnx) operator set; default 13. */
  opsetVersion?: number;
  /** Default 'quiver'. */
  producerName?: string;
  /** ModelProto.metadata_props, in the given order. */
  metadata?: readonly (readonly [string, string])[];
}

function encodeTensor(tensor: FloatTensor): Uint8Array {
  const expected = tensor.dims.reduce((a, b) => a * b, 1);
  if (expected !== tensor.values.length) {
    throw new RangeError(
      `tensor ${tensor.name}: dims [${tensor.dims.join(', ')}] hold ${expected} values, got ${tensor.values.length}`,
    );
  }
  const w = new ProtoWriter();
  // TensorProto: dims = 1 (repeated int64, not declared packed), data_type = 2,
  // float_data = 4 ([packed = true]), name = 8, raw_data = 9.
  for (const dim of tensor.dims) w.varint(1, dim);
  w.varint(2, ONNX_FLOAT);
  if (tensor.encoding === 'float_data') w.packedFloats(4, tensor.values);
  w.string(8, tensor.name);
  if (tensor.encoding !== 'float_data') w.bytes(9, float32LittleEndian(tensor.values));
  return w.finish();
}

function encodeValueInfo(info: TensorValueInfo): Uint8Array {
  // TensorShapeProto: dim = 1; Dimension: dim_value = 1, dim_param = 2.
  const shape = new ProtoWriter();
  for (const dim of info.shape) {
    const d = new ProtoWriter();
    if (typeof dim === 'string') d.string(2, dim);
    else d.varint(1, dim);
    shape.bytes(1, d.finish());
  }
  // TypeProto.Tensor: elem_type = 1, shape = 2. TypeProto: tensor_type = 1.
  const tensorType = new ProtoWriter().varint(1, ONNX_FLOAT).bytes(2, shape.finish()).finish();
  const type = new ProtoWriter().bytes(1, tensorType).finish();
  // ValueInfoProto: name = 1, type = 2.
  return new ProtoWriter().string(1, info.name).bytes(2, type).finish();
}

function encodeNode(node: OnnxNode): Uint8Array {
  // NodeProto: input = 1, output = 2, name = 3, op_type = 4.
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  if (node.name !== undefined) w.string(3, node.name);
  w.string(4, node.opType);
  return w.finish();
}

function encodeGraph(graph: OnnxGraph): Uint8Array {
  // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
  const w = new ProtoWriter();
  for (const node of graph.nodes) w.bytes(1, encodeNode(node));
  w.string(2, graph.name);
  for (const tensor of graph.initializers) w.bytes(5, encodeTensor(tensor));
  for (const input of graph.inputs) w.bytes(11, encodeValueInfo(input));
  for (const output of graph.outputs) w.bytes(12, encodeValueInfo(output));
  return w.finish();
}

/** Serialises a ModelProto. */
export function encodeModel(model: OnnxModel): Uint8Array {
  // OperatorSetIdProto: domain = 1 (omitted: default domain), version = 2.
  const opset = new ProtoWriter().varint(2, model.opsetVersion ?? 13).finish();
  // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8, metadata_props = 14.
  const w = new ProtoWriter()
    .varint(1, model.irVersion ?? 8)
    .string(2, model.producerName ?? 'quiver')
    .bytes(7, encodeGraph(model.graph))
    .bytes(8, opset);
  for (const [key, value] of model.metadata ?? []) {
    // StringStringEntryProto: key = 1, value = 2.
    w.bytes(14, new ProtoWriter().string(1, key).string(2, value).finish());
  }
  return w.finish();
}
