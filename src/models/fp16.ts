/**
 * IEEE 754 half precision <-> JS numbers. Node 20 has no Float16Array, so FP16 tensors carry their
 * raw bits in a Uint16Array (as onnxruntime-node expects for 'float16') and convert at the JSON edge.
 *
 * @example
 *   toHalfBits(1.5) === 0x3e00; fromHalfBits(0x3e00) === 1.5;
 */

/** Largest finite half-precision value. */
export const FP16_MAX = 65504;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * Rounds to nearest-even half bits. Goes through float32 first, so a value within one float32 ulp of
 * a half-way point may round the other way (double rounding): harmless for model inputs.
 */
export function toHalfBits(value: number): number {
  scratchF32[0] = value;
  const bits = scratchU32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half (or zero): shift the implicit leading 1 in and round what falls off.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShift(full, shift);
  }
  // A carry out of the mantissa correctly bumps the exponent (and overflows to Infinity at the top).
  return (sign | (halfExponent << 10)) + roundShift(mantissa, 13);
}

function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return rest > halfway || (rest === halfway && (kept & 1) === 1) ? kept + 1 : kept;
}

export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
