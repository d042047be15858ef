/**
 * API keys and scopes on a real server: the fast path (POST /get-online-features exactly) and
 * Fastify's routes (the same route with a query string goes through Fastify, and /push, predict,
 * admin) refuse and admit alike. Keys never reach the logs.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.ts';
import { sha256Hex } from '../../src/limits/api-keys.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import { MemoryStore } from '../../src/stores/memory/memory-store.ts';
import { seed, testConfigObject, userStatsDf } from '../fixtures/config.ts';

const READER_KEY = 'qk_reader-0123456789-secret';
const WRITER_KEY = 'qk_writer-0123456789-secret';
const ADMIN_KEY = 'qk_admin-0123456789-secret';
const WRONG_KEY = 'qk_wrong-0123456789-secret';
const KEYS = [READER_KEY, WRITER_KEY, ADMIN_KEY, WRONG_KEY];

/** Everything the server logs, at the most verbose level. */
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logLines.push(chunk.toString('utf8'));
    done();
  },
});

let server: RunningServer;

beforeAll(async () => {
  const config = validateConfig(
    {
      ...testConfigObject(),
      auth: {
        apiKeys: [
          { id: 'reader', keySha256: sha256Hex(READER_KEY), scopes: ['features:read'] },
          { id: 'writer', keySha256: sha256Hex(WRITER_KEY), scopes: ['features:write'] },
          { id: 'ops', keySha256: sha256Hex(ADMIN_KEY), scopes: ['admin', 'predict'] },
        ],
      },
    },
    '',
  );
  const store = new MemoryStore();
  await seed(store);
  server = await startServer(config, {
    port: 0,
    host: '127.0.0.1',
    store,
    logger: pino({ level: 'trace' }, logStream),
  });
});

afterAll(async () => {
  await server?.close();
});

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: string; code?: string; details?: unknown; results?: unknown[] } | undefined;
}

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    headers: res.headers,
    body: type.includes('json') ? JSON.parse(text) : undefined,
  } as Answer;
}

const LOOKUP = { features: ['user_stats:txn_count'], entities: { user_id: [1001] } };
const PUSH = {
  push_source_name: 'user_stats_push',
  to: 'online',
  df: userStatsDf({ user_id: ['3001'], event_timestamp: [new Date().toISOString()], txn_count: [5] }),
};

// The exact path takes the raw fast path; with a query string the same route goes through Fastify.
describe.each([
  ['fast path', '/get-online-features'],
  ['Fastify route', '/get-online-features?via=fastify'],
])('POST /get-online-features (%s) needs features:read', (_name, path) => {
  it('401 without a key, with the documented body and WWW-Authenticate', async () => {
    const res = await call('POST', path, {}, LOOKUP);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: 'Missing or invalid API key: send it as "x-api-key" or "Authorization: Bearer <key>"',
      code: 'QUIVER_ERR_UNAUTHENTICATED',
      details: { reason: 'missing_key' },
    });
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="quiver"');
  });

  it('401 with a wrong key, in either header', async () => {
    for (const headers of [{ 'x-api-key': WRONG_KEY }, { authorization: `Bearer ${WRONG_KEY}` }] as Record<
      string,
      string
    >[]) {
      const res = await call('POST', path, headers, LOOKUP);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({
        code: 'QUIVER_ERR_UNAUTHENTICATED',
        details: { reason: 'invalid_key' },
      });
    }
  });

  it('403 for a key without the scope, naming the key id and the scope', async () => {
    const res = await call('POST', path, { 'x-api-key': WRITER_KEY }, LOOKUP);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: 'API key "writer" lacks scope "features:read"',
      code: 'QUIVER_ERR_FORBIDDEN',
      details: { keyId: 'writer', scope: 'features:read' },
    });
  });

  it('200 with the scope, through x-api-key and through Authorization: Bearer', async () => {
    for (const headers of [{ 'x-api-key': READER_KEY }, { authorization: `Bearer ${READER_KEY}` }] as Record<
      string,
      string
    >[]) {
      const res = await call('POST', path, headers, LOOKUP);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body?.results).toHaveLength(2); // user_id and txn_count
    }
  });
});

describe('Fastify routes', () => {
  it('POST /push needs features:write', async () => {
    expect((await call('POST', '/push', {}, PUSH)).status).toBe(401);
    expect((await call('POST', '/push', { 'x-api-key': READER_KEY }, PUSH)).body).toMatchObject({
      code: 'QUIVER_ERR_FORBIDDEN',
      details: { keyId: 'reader', scope: 'features:write' },
    });
    const ok = await call('POST', '/push', { authorization: `Bearer ${WRITER_KEY}` }, PUSH);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await call('POST', '/push', { 'x-api-key': WRITER_KEY }, PUSH)).status).toBe(200);
  });

  it('inference needs predict, model metadata too, before the model is even looked up', async () => {
    for (const [method, path] of [
      ['POST', '/v1/models/nope/predict'],
      ['POST', '/v2/models/nope/infer'],
      ['GET', '/v2/models/nope'],
    ] as const) {
      const body = method === 'POST' ? { inputs: [] } : undefined;
      expect((await call(method, path, {}, body)).status).toBe(401);
      expect((await call(method, path, { 'x-api-key': READER_KEY }, body)).body).toMatchObject({
        code: 'QUIVER_ERR_FORBIDDEN',
        details: { scope: 'predict' },
      });
      // Past the guard, the route answers: this model does not exist.
      expect((await call(method, path, { 'x-api-key': ADMIN_KEY }, body)).status).toBe(404);
    }
  });

  it('the model repository needs admin', async () => {
    expect((await call('GET', '/v2/repository/index', { 'x-api-key': READER_KEY })).status).toBe(403);
    expect((await call('GET', '/v2/repository/index', { 'x-api-key': ADMIN_KEY })).status).toBe(200);
  });

  it('probes, metrics and the endpoint index are open', async () => {
    for (const path of [
      '/healthz',
      '/health',
      '/readyz',
      '/metrics',
      '/',
      '/v2',
      '/v2/health/live',
      '/v2/health/ready',
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(200);
    }
    expect((await call('GET', '/v2/models/nope/ready')).status).not.toBe(401);
  });

  it('an unknown path needs a valid key before it says 404', async () => {
    expect((await call('GET', '/no/such/thing')).status).toBe(401);
    expect((await call('GET', '/no/such/thing', { 'x-api-key': READER_KEY })).body).toMatchObject({
      code: 'QUIVER_ERR_ROUTE_NOT_FOUND',
    });
  });

  it('every route the server registers is in the scope table', () => {
    expect(logLines.join('')).not.toContain('routes missing from the scope table');
  });
});

describe('secrecy', () => {
  it('never writes a presented key to the logs, whatever the outcome', async () => {
    for (const key of KEYS) {
      for (const headers of [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }] as Record<
        string,
        string
      >[]) {
        await call('POST', '/get-online-features', headers, LOOKUP);
        await call('POST', '/push', headers, PUSH);
        await call('POST', '/push', headers, '{"broken json'); // a 400 the server handles and may log
        await call('GET', '/v2/repository/index', headers);
      }
    }
    const logs = logLines.join('');
    expect(logs).toContain('listening'); // the capture works: the server did log
    for (const key of KEYS) {
      expect(logs).not.toContain(key);
      expect(logs).not.toContain(key.slice(3)); // nor the key without its prefix
    }
  });
});

describe('auth defaults', () => {
  it('is on by default: a config with no keys and no `enabled: false` does not start', async () => {
    const { auth: _omitted, ...withoutAuth } = testConfigObject();
    const config = validateConfig(withoutAuth, '');
    await expect(
      startServer(config, { port: 0, host: '127.0.0.1', store: new MemoryStore() }),
    ).rejects.toMatchObject({
      code: 'QUIVER_ERR_CONFIG_INVALID',
      message: expect.stringContaining('auth: { enabled: false }'),
    });
  });
});
