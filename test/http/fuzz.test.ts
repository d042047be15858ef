/**
 * Randomised bad input against every POST route a client uses: valid bodies mutated (values swapped
 * for nulls, huge numbers, empty arrays, odd keys like `__proto__`, fields dropped or added),
 * truncated JSON, msgpack, and odd priority/deadline headers. Whatever arrives, the answer is a
 * 2xx or a 4xx with a machine-readable error, never a 5xx (but the 504 a request's own 5 ms
 * deadline can earn on a busy machine); and afterwards the server still answers correctly for a row
 * the mutations cannot reach. The seed is fixed, so a failure replays.
 */
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FEATURES,
  ROWS,
  rowFeatures,
  startInferenceServer,
  TOLERANCE,
  type InferenceServer,
} from '../fixtures/inference.ts';

const REQUESTS = 1500;

/** A small deterministic generator (an LCG), so the sequence replays exactly. */
function generator(seed: number): { next(): number; pick<T>(list: readonly T[]): T } {
  let state = seed;
  const next = (): number => (state = (state * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff;
  return { next, pick: (list) => list[Math.floor(next() * list.length)]! };
}

const ODD_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53,
  -(2 ** 63),
  '',
  'x',
  'NaN',
  '∞',
  '9'.repeat(400),
  [],
  {},
  [null],
  [[]],
  [{}],
  { a: 1 },
  ['7', '7', '7'],
  '__proto__',
  'constructor',
];
const ODD_KEYS = ['extra', '__proto__', 'constructor', 'entities', 'features', 'inputs', 'df', 'outputs'];

/** Entity ids the mutations may produce are ODD_VALUES; row 500 is never one of them. */
const UNTOUCHED_ROW = 500;

const VALID: readonly [string, unknown][] = [
  ['/get-online-features', { features: ['rows:f0', 'rows:f1'], entities: { row_id: ['0', '1'] } }],
  ['/get-online-features', { feature_service: 'gbdt_checked', entities: { row_id: ['2'], amount: [5] } }],
  [
    '/push',
    {
      push_source_name: 'rows',
      df: { row_id: ['77777'], f0: [0.5], f1: [1.5], event_timestamp: ['2025-06-01T00:00:00Z'] },
      to: 'online',
    },
  ],
  ['/v1/models/gbdt/predict', { entities: { row_id: ['3', '4'] } }],
  [
    '/v2/models/gbdt/infer',
    { id: 'a', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, FEATURES], data: rowFeatures(6) }] },
  ],
  ['/v1/models/gbdt/jobs', { entities: { row_id: ['8'] } }],
];

function mutate(value: unknown, random: ReturnType<typeof generator>): unknown {
  if (random.next() < 0.15) return random.pick(ODD_VALUES);
  if (Array.isArray(value)) {
    const out = value.map((v) => (random.next() < 0.3 ? mutate(v, random) : v));
    if (random.next() < 0.2) out.push(random.pick(ODD_VALUES));
    if (random.next() < 0.1) out.shift();
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (random.next() < 0.08) continue; // dropped
      out[key] = random.next() < 0.3 ? mutate(field, random) : field;
    }
    if (random.next() < 0.1) {
      // defineProperty, so that "__proto__" becomes a real key of the JSON, as a client can send it.
      const extra = { value: random.pick(ODD_VALUES), enumerable: true, configurable: true, writable: true };
      Object.defineProperty(out, random.pick(ODD_KEYS), extra);
    }
    return out;
  }
  return value;
}

describe('randomised bad input', () => {
  let server: InferenceServer;
  beforeAll(async () => {
    server = await startInferenceServer();
  });
  afterAll(() => server.close());

  it(`${REQUESTS} mutated requests: 2xx or a 4xx with an error body, never a 5xx`, async () => {
    const random = generator(20_261_121);
    const problems: string[] = [];
    const statuses = new Set<number>();
    for (let i = 0; i < REQUESTS; i++) {
      const [path, valid] = random.pick(VALID);
      const body = mutate(valid, random);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      let payload: string | Buffer = JSON.stringify(body);
      const mode = random.next();
      if (mode < 0.05) payload = payload.slice(0, Math.floor(random.next() * payload.length));
      else if (mode < 0.1) {
        headers['content-type'] = 'application/msgpack';
        payload = pack(body);
      } else if (mode < 0.12) headers['content-type'] = 'application/msgpack'; // JSON sent as msgpack
      if (random.next() < 0.05) headers['x-request-timeout-ms'] = random.pick(['-1', '0', 'abc', '1e9', '5']);
      if (random.next() < 0.05) headers['x-priority'] = random.pick(['-1', '0', '9', 'high', '1']);
      if (random.next() < 0.03) headers.accept = 'application/msgpack';

      const res = await fetch(server.url + path, { method: 'POST', headers, body: payload });
      const text = await res.text();
      statuses.add(res.status);
      const sent = typeof payload === 'string' ? payload : `msgpack of ${JSON.stringify(body)}`;
      // A 5 ms deadline the client set itself may pass while a busy machine queues the request: the
      // documented 504 is then the right answer, not a server fault.
      const ownDeadline =
        headers['x-request-timeout-ms'] === '5' &&
        res.status === 504 &&
        text.includes('"QUIVER_ERR_DEADLINE_EXCEEDED"');
      if (res.status >= 500 && !ownDeadline)
        problems.push(`${res.status} ${path} ${sent.slice(0, 200)} → ${text.slice(0, 200)}`);
      else if (res.status >= 400 && !/"(error|code)":/.test(text))
        problems.push(`${res.status} without an error body: ${path} → ${text.slice(0, 200)}`);
    }
    expect(problems).toEqual([]);
    // The mutations reached both outcomes (a fuzzer that only ever failed validation would prove little).
    expect([...statuses].some((s) => s >= 200 && s < 300)).toBe(true);
    expect([...statuses].some((s) => s >= 400 && s < 500)).toBe(true);
  });

  it('afterwards, the server still serves a correct prediction', async () => {
    const res = await server.post('/v1/models/gbdt/predict', {
      entities: { row_id: [String(UNTOUCHED_ROW)] },
    });
    expect(res.status).toBe(200);
    const probability = (res.body as { outputs: { probability: number[] } }).outputs.probability[0]!;
    expect(Math.abs(probability - ROWS.gbdt[UNTOUCHED_ROW]!)).toBeLessThan(TOLERANCE);
  });
});
