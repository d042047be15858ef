/**
 * The demo feature repo: fraud scoring for card payments. `quiver demo` copies this file into its
 * data directory (default .quiver-demo/), generates the data next to it and serves it.
 * Names here are part of the contract: entity `user` (join key `user_id`), view `user_stats`,
 * feature service `fraud_v1`.
 */
import type { QuiverConfig } from 'quiver';

export default {
  project: 'fraud',
  onlineStore: { type: 'lmdb', path: './data/online' },
  entities: [{ name: 'user', joinKeys: ['user_id'], description: 'A card holder' }],
  featureViews: [
    {
      name: 'user_stats',
      entities: ['user'],
      ttlSeconds: 30 * 86_400,
      schema: {
        txn_count_1h: 'int64',
        txn_count_24h: 'int64',
        txn_count_7d: 'int64',
        avg_amount_7d: 'float32',
        avg_amount_30d: 'float32',
        max_amount_30d: 'float32',
        std_amount_30d: 'float32',
        distinct_merchants_30d: 'int64',
        distinct_devices_30d: 'int64',
        account_age_days: 'int64',
        chargebacks_365d: 'int64',
        failed_logins_24h: 'int64',
        night_txn_ratio_30d: 'float32',
        foreign_txn_ratio_30d: 'float32',
        avg_session_secs: 'float32',
        prior_risk_score: 'float64',
        country: 'string',
      },
      source: { type: 'csv', path: './data/user_stats.csv', timestampField: 'event_ts' },
      defaults: { avg_amount_30d: 50, account_age_days: 365 },
    },
  ],
  onDemandFeatureViews: [
    {
      name: 'amount_ratio',
      inputs: { user_stats: ['avg_amount_30d'] },
      request: { amount: 'float32' },
      schema: { ratio: 'float32' },
      transform: (b) => ({ ratio: b.amount!.map((a, i) => a / (b.avg_amount_30d![i] || 1)) }),
    },
  ],
  featureServices: [
    { name: 'fraud_v1', features: ['user_stats:*'] },
    {
      // What the `fraud` model reads, in its input order: 16 stored features and one computed at request time.
      name: 'fraud_model',
      features: [
        'user_stats:txn_count_1h',
        'user_stats:txn_count_24h',
        'user_stats:txn_count_7d',
        'user_stats:avg_amount_7d',
        'user_stats:avg_amount_30d',
        'user_stats:max_amount_30d',
        'user_stats:std_amount_30d',
        'user_stats:distinct_merchants_30d',
        'user_stats:distinct_devices_30d',
        'user_stats:account_age_days',
        'user_stats:chargebacks_365d',
        'user_stats:failed_logins_24h',
        'user_stats:night_txn_ratio_30d',
        'user_stats:foreign_txn_ratio_30d',
        'user_stats:avg_session_secs',
        'user_stats:prior_risk_score',
        'amount_ratio:ratio',
      ],
    },
    {
      name: 'fraud_realtime',
      features: ['user_stats:txn_count_1h', 'user_stats:avg_amount_30d', 'amount_ratio:ratio'],
    },
  ],
  models: [
    {
      name: 'fraud',
      path: './fraud.onnx', // built by examples/fraud/model/build-fraud-model.ts
      featureService: 'fraud_model',
      runners: 1,
      batching: { maxBatchSize: 64, maxQueueDelayUs: 0 },
      queue: { priorityLevels: 2, defaultPriority: 2, maxQueueSize: 1024, defaultTimeoutMs: 1000 },
    },
  ],
  server: { port: 8080 },
  auth: { enabled: false },
} satisfies QuiverConfig;
