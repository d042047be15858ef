import { describe, expect, it } from 'vitest';
import { isQuiverError } from '../errors.ts';
import { validateInputs, validateOutputNames, type ModelMetadata } from './model-runtime.ts';
import type { Tensor } from './tensor.ts';

const metadata: ModelMetadata = {
  name: 'fraud',
  versions: [],
  platform: 'onnxruntime_onnx',
  inputs: [
    { name: 'features', datatype: 'FP32', shape: [-1, 16] },
    { name: 'country', datatype: 'BYTES', shape: [-1, 1] },
  ],
  outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 1] }],
};

function features(rows: number, cols = 16): Tensor {
  return { name: 'features', datatype: 'FP32', shape: [rows, cols], data: new Float32Array(rows * cols) };
}

function country(rows: number): Tensor {
  return { name: 'country', datatype: 'BYTES', shape: [rows, 1], data: new Array<string>(rows).fill('FR') };
}

function reason(inputs: Record<string, Tensor>): string {
  try {
    validateInputs(metadata, inputs);
  } catch (err) {
    if (isQuiverError(err) && err.code === 'QUIVER_ERR_INVALID_TENSOR') return err.message;
    throw err;
  }
  throw new Error('expected QUIVER_ERR_INVALID_TENSOR');
}

describe('validateInputs', () => {
  it('accepts matching inputs with any batch size ≥ 1', () => {
    for (const rows of [1, 7, 1000])
      validateInputs(metadata, { features: features(rows), country: country(rows) });
  });

  it('rejects a wrong datatype', () => {
    const f64: Tensor = { name: 'features', datatype: 'FP64', shape: [1, 16], data: new Float64Array(16) };
    expect(reason({ features: f64, country: country(1) })).toBe(
      'Invalid tensor "features": datatype FP64 does not match the model\'s FP32',
    );
  });

  it('rejects a wrong inner dim, a wrong rank and an empty batch', () => {
    expect(reason({ features: features(2, 15), country: country(2) })).toBe(
      'Invalid tensor "features": shape [2,15] does not match the model\'s [-1,16]: dim 1 is 15, needs 16',
    );
    const flat: Tensor = { name: 'features', datatype: 'FP32', shape: [16], data: new Float32Array(16) };
    expect(reason({ features: flat, country: country(1) })).toContain('has rank 1, the model needs rank 2');
    expect(reason({ features: features(0), country: country(1) })).toContain('dim 0 is 0, needs at least 1');
  });

  it('rejects a missing input and an unknown input', () => {
    expect(reason({ features: features(1) })).toBe(
      'Invalid tensor "country": missing input; model "fraud" takes features (FP32 [-1,16]), country (BYTES [-1,1])',
    );
    expect(reason({ features: features(1), country: country(1), extra: features(1) })).toContain(
      '"extra": unknown input',
    );
    // An input named like an Object.prototype member is looked up as an own property only.
    const odd: ModelMetadata = {
      ...metadata,
      inputs: [{ name: 'constructor', datatype: 'FP32', shape: [1] }],
    };
    expect(() => validateInputs(odd, {})).toThrow('"constructor": missing input');
  });

  it('rejects data whose length does not match the shape', () => {
    const short: Tensor = { name: 'features', datatype: 'FP32', shape: [2, 16], data: new Float32Array(31) };
    expect(reason({ features: short, country: country(2) })).toContain(
      'shape [2,16] needs 32 elements, got 31',
    );
  });
});

describe('validateOutputNames', () => {
  it('accepts known outputs and names an unknown one', () => {
    validateOutputNames(metadata, ['probability']);
    expect(() => validateOutputNames(metadata, ['label'])).toThrow(
      'Invalid tensor "label": unknown output; model "fraud" returns probability (FP32 [-1,1])',
    );
  });
});
