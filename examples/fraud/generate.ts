/**
 * Deterministic data for the fraud demo: one row per user with 16 numeric features and a country,
 * from a seeded PRNG, so every machine generates the same values. Event timestamps are the
 * generation time minus up to an hour, so the demo's data is fresh (inside the 30-day TTL).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/** mulberry32: tiny, fast, good enough for demo data, and identical everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'NL', 'ES', 'IT', 'BR', 'IN', 'JP', 'NG', 'CA'];

export const USER_STATS_COLUMNS = [
  'user_id',
  'event_ts',
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
  'country',
] as const;

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** One user's row, in USER_STATS_COLUMNS order. */
export function userRow(userId: number, random: () => number, eventTsMs: number): (string | number)[] {
  const activity = random() ** 2; // most users are quiet, a few very busy
  const txn7d = Math.floor(activity * 120);
  const txn24h = Math.floor(txn7d * random() * 0.4);
  const txn1h = Math.floor(txn24h * random() * 0.3);
  const avg30 = round(5 + random() ** 1.5 * 400, 2);
  const avg7 = round(avg30 * (0.6 + random() * 0.8), 2);
  const risky = random() < 0.03;
  return [
    String(userId),
    new Date(eventTsMs).toISOString(),
    txn1h,
    txn24h,
    txn7d,
    avg7,
    avg30,
    round(avg30 * (1 + random() * 4), 2),
    round(avg30 * random() * 0.8, 2),
    Math.floor(txn7d * 0.7 * random()) + 1,
    1 + Math.floor(random() ** 3 * (risky ? 9 : 3)),
    Math.floor(random() * 3650),
    risky ? Math.floor(random() * 4) : 0,
    Math.floor(random() ** 4 * (risky ? 20 : 4)),
    round(random() * (risky ? 0.8 : 0.2), 4),
    round(random() * (risky ? 0.9 : 0.15), 4),
    round(30 + random() * 900, 1),
    round(risky ? 0.5 + random() * 0.5 : random() * 0.3, 6),
    COUNTRIES[Math.floor(random() * COUNTRIES.length)]!,
  ];
}

export interface GenerateOptions {
  path: string;
  users: number;
  seed?: number;
  nowMs?: number;
}

/** Writes the user_stats CSV, streaming (constant memory whatever the user count). */
export async function generateUserStats(options: GenerateOptions): Promise<void> {
  const random = seededRandom(options.seed ?? 42);
  const now = options.nowMs ?? Date.now();
  const out = createWriteStream(options.path);
  out.write(`${USER_STATS_COLUMNS.join(',')}\n`);
  let chunk = '';
  for (let id = 1; id <= options.users; id++) {
    const ts = now - Math.floor(random() * 3_600_000);
    chunk += `${userRow(id, random, ts).join(',')}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}
