/**
 * onnxruntime's input/output metadata → Quiver tensor specs. Symbolic dims ('N', 'batch') become -1
 * (dynamic). Inputs must all be tensors of a datatype Quiver carries, or the model cannot be served;
 * non-tensor outputs (e.g. scikit-learn's ZipMap `output_probability`, a sequence of maps) are left
 * out, never fetched, so such models still serve their tensor outputs.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { TensorSpec } from '../model-runtime.ts';
import { datatypeFromOrt } from '../tensor.ts';

type ValueMetadata = InferenceSession.ValueMetadata;

function toSpec(meta: ValueMetadata): TensorSpec | string {
  if (!meta.isTensor) return `"${meta.name}" is not a tensor`;
  const datatype = datatypeFromOrt(meta.type);
  if (datatype === undefined)
    return `"${meta.name}" has element type ${meta.type}, which Quiver does not support`;
  const shape = meta.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1));
  return { name: meta.name, datatype, shape };
}

/** Throws an Error whose message says which input cannot be served. */
export function inputSpecs(metadata: readonly ValueMetadata[]): TensorSpec[] {
  return metadata.map((meta) => {
    const spec = toSpec(meta);
    if (typeof spec === 'string') throw new Error(`input ${spec}`);
    return spec;
  });
}

/** The tensor outputs; throws when there is none. */
export function outputSpecs(metadata: readonly ValueMetadata[]): TensorSpec[] {
  const specs = metadata.map(toSpec);
  const tensors = specs.filter((spec): spec is TensorSpec => typeof spec !== 'string');
  if (tensors.length === 0) throw new Error(`no servable output: ${specs.join('; ')}`);
  return tensors;
}
