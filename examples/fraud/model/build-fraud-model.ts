/**
 * Builds the fraud demo's model, `fraud.onnx`: a hand-set logistic-regression scorer over the
 * `user_stats` features plus the on-demand `amount_ratio:ratio`. Not trained: the weights encode
 * plain fraud heuristics, sized against the distributions in ../generate.ts.
 *
 *   features [N, 17] → Sub(mean) → Div(scale) → MatMul(weights [17, 1]) → Add(bias [1]) → Sigmoid
 *   → probability [N, 1]
 *
 * Means and scales are the generator's population mean and standard deviation (rounded), so the
 * standardisation is baked into the graph and clients send raw feature values. `ratio` is
 * request-time (amount / avg_amount_30d), so its centre and spread are assumed: 1 ± 1.5.
 *
 * On generated users (seed 7, 100k rows) the bias of -2.8 gives a median non-risky score of ~0.04
 * (90th percentile ~0.14, 0.2% above 0.5), while ~99.7% of the ~3% risky users score above 0.5.
 * A user with every feature at the generator's median (and ratio 1) scores ~0.023.
 *
 * Run `node --import tsx examples/fraud/model/build-fraud-model.ts` to (re)write fraud.onnx next
 * to this file; the test checks the shipped file is byte-identical to buildFraudModel().
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeModel } from './onnx-writer.ts';

interface FeatureParam {
  name: string;
  /** Subtracted before scaling (the generator's population mean). */
  mean: number;
  /** Divisor after centring (the generator's population standard deviation). */
  scale: number;
  /** Log-odds per standard deviation. */
  weight: number;
}

/** Input columns in order: the 16 numeric user_stats features (schema order), then ratio. */
const PARAMS: readonly FeatureParam[] = [
  { name: 'txn_count_1h', mean: 0.8, scale: 1.65, weight: 0.35 }, // bursts of activity
  { name: 'txn_count_24h', mean: 7.5, scale: 9.4, weight: 0.1 },
  { name: 'txn_count_7d', mean: 40, scale: 35.8, weight: -0.15 }, // steady, established use
  { name: 'avg_amount_7d', mean: 165, scale: 129, weight: 0.1 },
  { name: 'avg_amount_30d', mean: 165, scale: 120, weight: -0.05 },
  { name: 'max_amount_30d', mean: 495, scale: 430, weight: 0.1 },
  { name: 'std_amount_30d', mean: 66, scale: 67, weight: 0.1 },
  { name: 'distinct_merchants_30d', mean: 14.4, scale: 16.5, weight: 0.05 },
  { name: 'distinct_devices_30d', mean: 1.47, scale: 0.85, weight: 0.5 },
  { name: 'account_age_days', mean: 1826, scale: 1054, weight: -0.4 }, // old accounts are safer
  { name: 'chargebacks_365d', mean: 0.045, scale: 0.32, weight: 0.6 },
  { name: 'failed_logins_24h', mean: 0.61, scale: 1.38, weight: 0.35 },
  { name: 'night_txn_ratio_30d', mean: 0.109, scale: 0.086, weight: 0.45 },
  { name: 'foreign_txn_ratio_30d', mean: 0.086, scale: 0.089, weight: 0.5 },
  { name: 'avg_session_secs', mean: 480, scale: 259, weight: -0.05 }, // hurried sessions, slightly
  { name: 'prior_risk_score', mean: 0.168, scale: 0.135, weight: 0.8 },
  { name: 'ratio', mean: 1, scale: 1.5, weight: 0.6 }, // amount far above the usual
];

/** The model's 17 input columns, in order. */
export const FRAUD_MODEL_FEATURES: readonly string[] = PARAMS.map((p) => p.name);

/** The model's parameters (as written, before float32 rounding), for reference computations. */
export const FRAUD_MODEL_PARAMS = {
  mean: PARAMS.map((p) => p.mean),
  scale: PARAMS.map((p) => p.scale),
  weights: PARAMS.map((p) => p.weight),
  bias: -2.8,
} as const;

/** The serialised ONNX model (deterministic bytes). */
export function buildFraudModel(): Uint8Array {
  const n = PARAMS.length;
  return encodeModel({
    graph: {
      name: 'fraud_v1',
      nodes: [
        { opType: 'Sub', inputs: ['features', 'mean'], outputs: ['centred'], name: 'centre' },
        { opType: 'Div', inputs: ['centred', 'scale'], outputs: ['standardised'], name: 'standardise' },
        { opType: 'MatMul', inputs: ['standardised', 'weights'], outputs: ['weighted'], name: 'weigh' },
        { opType: 'Add', inputs: ['weighted', 'bias'], outputs: ['logit'], name: 'add_bias' },
        { opType: 'Sigmoid', inputs: ['logit'], outputs: ['probability'], name: 'sigmoid' },
      ],
      initializers: [
        { name: 'mean', dims: [n], values: FRAUD_MODEL_PARAMS.mean },
        { name: 'scale', dims: [n], values: FRAUD_MODEL_PARAMS.scale },
        { name: 'weights', dims: [n, 1], values: FRAUD_MODEL_PARAMS.weights },
        { name: 'bias', dims: [1], values: [FRAUD_MODEL_PARAMS.bias] },
      ],
      inputs: [{ name: 'features', shape: ['N', n] }],
      outputs: [{ name: 'probability', shape: ['N', 1] }],
    },
    metadata: [['quiver.features', FRAUD_MODEL_FEATURES.join(',')]],
  });
}

/** Where the CLI writes the model: fraud.onnx next to this file. */
export const FRAUD_MODEL_PATH = fileURLToPath(new URL('./fraud.onnx', import.meta.url));

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bytes = buildFraudModel();
  writeFileSync(FRAUD_MODEL_PATH, bytes);
  console.log(`wrote ${FRAUD_MODEL_PATH} (${bytes.length} bytes, ${FRAUD_MODEL_FEATURES.length} features)`);
}
