import { readFileSync } from 'node:fs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom, userRow } from '../generate.ts';
import {
  FRAUD_MODEL_FEATURES,
  FRAUD_MODEL_PARAMS,
  FRAUD_MODEL_PATH,
  buildFraudModel,
} from './build-fraud-model.ts';
import { ProtoWriter, encodeModel } from './onnx-writer.ts';

/** The model's formula in plain JS, with the parameters rounded to float32 as stored. */
function reference(row: readonly number[]): number {
  const f = Math.fround;
  let logit = f(FRAUD_MODEL_PARAMS.bias);
  for (let i = 0; i < row.length; i++) {
    const z = (f(row[i]!) - f(FRAUD_MODEL_PARAMS.mean[i]!)) / f(FRAUD_MODEL_PARAMS.scale[i]!);
    logit += z * f(FRAUD_MODEL_PARAMS.weights[i]!);
  }
  return 1 / (1 + Math.exp(-logit));
}

/** |actual - expected| < 1e-5. */
function expectClose(actual: number | undefined, expected: number): void {
  expect(actual).toBeDefined();
  expect(Math.abs(actual! - expected)).toBeLessThan(1e-5);
}

function row(values: Record<string, number>): number[] {
  return FRAUD_MODEL_FEATURES.map((name) => {
    const value = values[name];
    if (value === undefined) throw new Error(`row is missing ${name}`);
    return value;
  });
}

/** Every user_stats feature at the generator's median; a purchase of the usual size. */
const TYPICAL = row({
  txn_count_1h: 0,
  txn_count_24h: 3,
  txn_count_7d: 30,
  avg_amount_7d: 139,
  avg_amount_30d: 146,
  max_amount_30d: 377,
  std_amount_30d: 42,
  distinct_merchants_30d: 8,
  distinct_devices_30d: 1,
  account_age_days: 1830,
  chargebacks_365d: 0,
  failed_logins_24h: 0,
  night_txn_ratio_30d: 0.1,
  foreign_txn_ratio_30d: 0.077,
  avg_session_secs: 480,
  prior_risk_score: 0.154,
  ratio: 1,
});

/** A new account on many devices, with chargebacks, failed logins and a burst of big purchases. */
const RISKY = row({
  txn_count_1h: 6,
  txn_count_24h: 20,
  txn_count_7d: 25,
  avg_amount_7d: 300,
  avg_amount_30d: 150,
  max_amount_30d: 900,
  std_amount_30d: 120,
  distinct_merchants_30d: 12,
  distinct_devices_30d: 5,
  account_age_days: 40,
  chargebacks_365d: 2,
  failed_logins_24h: 6,
  night_txn_ratio_30d: 0.6,
  foreign_txn_ratio_30d: 0.7,
  avg_session_secs: 60,
  prior_risk_score: 0.8,
  ratio: 6,
});

/** Risky without the loud signals: no chargebacks, ordinary activity and amount. */
const QUIET_RISKY = row({
  txn_count_1h: 1,
  txn_count_24h: 8,
  txn_count_7d: 35,
  avg_amount_7d: 170,
  avg_amount_30d: 160,
  max_amount_30d: 500,
  std_amount_30d: 70,
  distinct_merchants_30d: 12,
  distinct_devices_30d: 3,
  account_age_days: 1500,
  chargebacks_365d: 0,
  failed_logins_24h: 2,
  night_txn_ratio_30d: 0.35,
  foreign_txn_ratio_30d: 0.4,
  avg_session_secs: 450,
  prior_risk_score: 0.6,
  ratio: 1,
});

/** A typical user, but with one big purchase (10× their usual amount). */
const TYPICAL_BIG_AMOUNT = TYPICAL.map((v, i) => (FRAUD_MODEL_FEATURES[i] === 'ratio' ? 10 : v));

async function score(session: InferenceSession, rows: readonly (readonly number[])[]): Promise<Float32Array> {
  const data = Float32Array.from(rows.flat());
  const out = await session.run({
    features: new Tensor('float32', data, [rows.length, FRAUD_MODEL_FEATURES.length]),
  });
  const probability = out.probability!;
  expect(probability.dims).toEqual([rows.length, 1]);
  return probability.data as Float32Array;
}

describe('onnx-writer', () => {
  it('encodes varints and tags as protobuf does', () => {
    expect([...new ProtoWriter().rawVarint(0).finish()]).toEqual([0x00]);
    expect([...new ProtoWriter().rawVarint(300).finish()]).toEqual([0xac, 0x02]);
    expect([...new ProtoWriter().varint(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    expect([...new ProtoWriter().string(2, 'hi').finish()]).toEqual([0x12, 0x02, 0x68, 0x69]);
    expect([...new ProtoWriter().packedFloats(4, [1]).finish()]).toEqual([
      0x22, 0x04, 0x00, 0x00, 0x80, 0x3f,
    ]);
    expect(() => new ProtoWriter().rawVarint(-1)).toThrow(RangeError);
  });

  it('rejects a tensor whose values do not fill its dims', () => {
    const graph = {
      name: 'g',
      nodes: [],
      initializers: [{ name: 't', dims: [2, 2], values: [1, 2, 3] }],
      inputs: [],
      outputs: [],
    };
    expect(() => encodeModel({ graph })).toThrow(/hold 4 values, got 3/);
  });

  it('writes models onnxruntime runs, with raw_data or packed float_data initializers', async () => {
    for (const encoding of ['raw', 'float_data'] as const) {
      const bytes = encodeModel({
        graph: {
          name: 'affine',
          nodes: [
            { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['xw'] },
            { opType: 'Add', inputs: ['xw', 'b'], outputs: ['y'] },
          ],
          initializers: [
            { name: 'w', dims: [3, 2], values: [1, 2, 3, 4, 5, 6], encoding },
            { name: 'b', dims: [2], values: [0.5, -0.5], encoding },
          ],
          inputs: [{ name: 'x', shape: ['N', 3] }],
          outputs: [{ name: 'y', shape: ['N', 2] }],
        },
      });
      const session = await InferenceSession.create(bytes);
      const out = await session.run({
        x: new Tensor('float32', Float32Array.from([1, 0, -1, 2, 1, 0]), [2, 3]),
      });
      // [1,0,-1]·w = [1-5, 2-6] = [-4,-4]; [2,1,0]·w = [2+3, 4+4] = [5,8]; plus b.
      expect([...(out.y!.data as Float32Array)]).toEqual([-3.5, -4.5, 5.5, 7.5]);
      await session.release();
    }
  });
});

describe('fraud model', () => {
  let session: InferenceSession;
  beforeAll(async () => {
    session = await InferenceSession.create(buildFraudModel());
    return () => session.release();
  });

  it('takes 17 features in the documented order', () => {
    expect(FRAUD_MODEL_FEATURES).toEqual([
      'txn_count_1h',
      'txn_count_24h',
      'txn_count_7d',
      'avg_amount_7d',
      'avg_amount_30d',
      'max_amount_30d',
      'std_amount_30d',
      'distinct_merchants_30d',
      'distinct_devices_30d',
      'account_age_days',
      'chargebacks_365d',
      'failed_logins_24h',
      'night_txn_ratio_30d',
      'foreign_txn_ratio_30d',
      'avg_session_secs',
      'prior_risk_score',
      'ratio',
    ]);
  });

  it('has input `features` [N, 17] and output `probability` [N, 1], float32', () => {
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toEqual(['probability']);
    const [input] = session.inputMetadata;
    const [output] = session.outputMetadata;
    expect(input).toMatchObject({ name: 'features', isTensor: true, type: 'float32', shape: ['N', 17] });
    expect(output).toMatchObject({ name: 'probability', isTensor: true, type: 'float32', shape: ['N', 1] });
  });

  it('matches the plain-JS formula and separates typical from risky users', async () => {
    const rows = [TYPICAL, RISKY, QUIET_RISKY, TYPICAL_BIG_AMOUNT];
    const probabilities = await score(session, rows);
    rows.forEach((r, i) => expectClose(probabilities[i], reference(r)));
    const [typical, risky, quietRisky, bigAmount] = probabilities;
    expect(typical).toBeGreaterThan(0.01);
    expect(typical).toBeLessThan(0.2);
    expect(risky).toBeGreaterThan(0.5);
    expect(quietRisky).toBeGreaterThan(0.5);
    expect(bigAmount).toBeGreaterThan(typical!);
  });

  it('gives the same answer at batch 1', async () => {
    const [alone] = await score(session, [RISKY]);
    expectClose(alone, reference(RISKY));
  });

  it('ranks generated users sensibly (risky users are those with prior_risk_score ≥ 0.5)', async () => {
    const random = seededRandom(123);
    const rows: number[][] = [];
    for (let id = 1; id <= 3000; id++) rows.push([...userRow(id, random, 0).slice(2, 18).map(Number), 1]);
    const probabilities = await score(session, rows);
    const normal: number[] = [];
    const risky: number[] = [];
    rows.forEach((r, i) => {
      expectClose(probabilities[i], reference(r));
      (r[15]! >= 0.5 ? risky : normal).push(probabilities[i]!);
    });
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    expect(risky.length).toBeGreaterThan(30);
    expect(median(normal)).toBeGreaterThan(0.02);
    expect(median(normal)).toBeLessThan(0.1);
    expect(risky.filter((p) => p > 0.5).length / risky.length).toBeGreaterThan(0.95);
  });

  it('is shipped as fraud.onnx, byte-identical to buildFraudModel() and under 2 KB', () => {
    const shipped = new Uint8Array(readFileSync(FRAUD_MODEL_PATH));
    const built = buildFraudModel();
    expect(built.length).toBeLessThan(2048);
    expect(Buffer.from(shipped).equals(Buffer.from(built))).toBe(true);
  });
});
