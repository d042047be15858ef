/**
 * Cost of one rate-limit check in memory (target ≤ 5 µs), and of the whole guard (auth + limit).
 * A tiny script, not a test: `node --import tsx bench/limits.ts`.
 *
 * Cases: one hot subject; 10,000 subjects round robin; refusals (an empty bucket); a flood of
 * 1,000,000 distinct subjects through a 100,000-bucket map (eviction included); the guard with an
 * API key (SHA-256 of the key, Map lookup, timingSafeEqual, scope, take, three headers).
 */
import { Guard } from '../src/http/guard.ts';
import { ApiKeyAuth, sha256Hex } from '../src/limits/api-keys.ts';
import { MemoryRateLimiter } from '../src/limits/memory/token-bucket.ts';

interface Row {
  case: string;
  ops: number;
  /** Wall time per op. */
  nsPerOp: number;
  /** CPU time (user + system) per op: the steadier figure on a shared machine. */
  cpuNsPerOp: number;
}

function measure(name: string, ops: number, op: (i: number) => unknown): Row {
  for (let i = 0; i < Math.min(ops, 100_000); i++) op(i); // warm-up: let the JIT settle
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < ops; i++) if (op(i) !== undefined) sink++;
  const ns = Number(process.hrtime.bigint() - started);
  const used = process.cpuUsage(cpu);
  if (sink < 0) console.log(sink); // keep the results alive
  const round = (v: number): number => Math.round(v * 10) / 10;
  return {
    case: name,
    ops,
    nsPerOp: round(ns / ops),
    cpuNsPerOp: round(((used.user + used.system) * 1000) / ops),
  };
}

const N = 2_000_000;
const rows: Row[] = [];

const hot = new MemoryRateLimiter({ tokensPerSecond: 1e12, burst: 1_000_000 });
rows.push(measure('take(): one hot subject', N, () => hot.take('svc-a')));

const subjects = Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
const many = new MemoryRateLimiter({ tokensPerSecond: 1e12, burst: 1_000_000 });
rows.push(measure('take(): 10k subjects round robin', N, (i) => many.take(subjects[i % 10_000]!)));

const empty = new MemoryRateLimiter({ tokensPerSecond: 1e-6, burst: 1 });
empty.take('x');
rows.push(measure('take(): refused (empty bucket)', N, () => empty.take('x')));

const floodSubjects = Array.from({ length: 1_000_000 }, (_, i) => `f${i}`);
const flood = new MemoryRateLimiter({ tokensPerSecond: 0.001, burst: 10, maxBuckets: 100_000 });
rows.push(
  measure('take(): 1M distinct subjects, 100k-bucket map', 1_000_000, (i) => flood.take(floodSubjects[i]!)),
);

const key = 'qk_bench-key-0123456789abcdefghijklmnopqrstuv';
const auth = new ApiKeyAuth([{ id: 'svc-a', keySha256: sha256Hex(key), scopes: ['features:read'] }]);
const guard = new Guard({
  auth,
  rateLimits: [
    { key: 'apiKey', limiter: new MemoryRateLimiter({ tokensPerSecond: 1e12, burst: 1_000_000 }) },
  ],
});
const headers = { 'x-api-key': key };
const sink = { setHeader: (_name: string, _value: string): void => undefined };
rows.push(
  measure(
    'guard.check(): key + scope + memory limit',
    500_000,
    () => guard.check('features:read', headers, '127.0.0.1', sink) ?? 0,
  ),
);
rows.push(measure('ApiKeyAuth.authenticate() alone', 500_000, () => auth.authenticate(key)));

console.table(rows);
const worst = Math.max(...rows.filter((r) => r.case.startsWith('take()')).map((r) => r.cpuNsPerOp));
console.log(`worst take(): ${worst} ns of CPU (target ≤ 5000 ns): ${worst <= 5000 ? 'OK' : 'OVER TARGET'}`);
