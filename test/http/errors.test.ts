/**
 * Every bad input a new user is likely to send gets a 4xx (never a 500) with the documented body
 * `{error, code, details?}` and the right QUIVER_ERR_* code; a rejected push writes nothing; and
 * after all of it the server still answers a good request correctly.
 */
import { once } from 'node:events';
import { maxHeaderSize } from 'node:http';
import { gzipSync } from 'node:zlib';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FRESH_TS_MS,
  expectError,
  type ErrorBody,
  rfc3339,
  startTestServer,
  testConfig,
  type TestResponse,
  type TestServer,
  userStatsDf,
} from '../fixtures/config.ts';
import { openSocket } from '../support/raw-http.ts';

const MAX_BODY_BYTES = 4096;
const plainPackr = new Packr({ useRecords: false });

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: testConfig({ maxBodyBytes: MAX_BODY_BYTES }) });
});

afterAll(async () => {
  await server.close();
});

const features = (body: unknown, headers?: Record<string, string>): Promise<TestResponse> =>
  server.post('/get-online-features', body, headers);

const GOOD = { features: ['user_stats:txn_count'], entities: { user_id: [1001] } };

describe('POST /get-online-features — body encoding', () => {
  it('malformed JSON → 400 QUIVER_ERR_MALFORMED_BODY', async () => {
    const body = expectError(
      await features('{"features": ["user_stats:txn_count"], '),
      400,
      'QUIVER_ERR_MALFORMED_BODY',
    );
    expect(body.error).toMatch(/invalid JSON/);
  });

  it.each([
    ['/get-online-features', GOOD],
    ['/push', { push_source_name: 'user_stats_push', df: { user_id: [1] }, to: 'online' }],
  ])(
    'a gzip-compressed body to %s → 415 QUIVER_ERR_UNSUPPORTED_ENCODING, not "invalid JSON"',
    async (path, doc) => {
      const body = gzipSync(JSON.stringify(doc));
      const res = await server.post(path, body, { 'content-encoding': 'gzip' });
      expect(expectError(res, 415, 'QUIVER_ERR_UNSUPPORTED_ENCODING').error).toBe(
        'Content-Encoding "gzip" is not supported: send the body uncompressed',
      );
      // `identity` is no encoding at all.
      expect(
        (await server.post('/get-online-features', GOOD, { 'content-encoding': 'identity' })).status,
      ).toBe(200);
      // A request without a body (a probe behind a proxy that adds the header) is answered.
      expect((await server.get('/healthz', { 'content-encoding': 'gzip' })).status).toBe(200);
    },
  );

  it.each(['/get-online-features', '/push'])(
    'a body that is not UTF-8 → 400 on %s, not read as U+FFFD',
    async (path) => {
      const body = Buffer.concat([
        Buffer.from('{"features":["user_stats:txn_count"],"entities":{"user_id":["'),
        Buffer.from([0xc3, 0x28]), // a lead byte without its continuation
        Buffer.from('"]}}'),
      ]);
      const res = await server.post(path, body);
      expect(expectError(res, 400, 'QUIVER_ERR_MALFORMED_BODY').error).toBe(
        'Request body could not be parsed: the body is not valid UTF-8 (JSON must be)',
      );
      // Valid UTF-8 beyond ASCII is read as such: the key is echoed as sent.
      const ok = await features({ features: ['user_stats:txn_count'], entities: { user_id: ['zürich'] } });
      expect((ok.body as { results: { values: unknown[] }[] }).results[0]!.values).toEqual(['zürich']);
    },
  );

  it('a body that starts with a UTF-8 byte order mark is read without it', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(GOOD))]);
    expect((await features(body)).status).toBe(200);
  });

  it('an empty body → 400, saying it is empty', async () => {
    const body = expectError(await features(''), 400, 'QUIVER_ERR_MALFORMED_BODY');
    expect(body.error).toMatch(/empty/);
  });

  it('no body and no content type → 400', async () => {
    const res = await fetch(`${server.url}/get-online-features`, { method: 'POST' });
    const body = (await res.json()) as ErrorBody;
    expect(res.status).toBe(400);
    expect(body.code).toMatch(/^QUIVER_ERR_(MALFORMED_BODY|INVALID_REQUEST)$/);
  });

  it.each([
    ['an array', '[1, 2]'],
    ['a string', '"user_stats:txn_count"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('a JSON %s as the body → 400 QUIVER_ERR_INVALID_REQUEST', async (_what, text) => {
    const body = expectError(await features(text), 400, 'QUIVER_ERR_INVALID_REQUEST');
    expect(body.error).toMatch(/JSON object/);
  });

  it('invalid msgpack → 400 QUIVER_ERR_MALFORMED_BODY', async () => {
    // 0x92 announces an array of two elements; only one follows.
    const truncated = Buffer.from([0x92, 0x01]);
    const body = expectError(
      await features(truncated, { 'content-type': 'application/msgpack' }),
      400,
      'QUIVER_ERR_MALFORMED_BODY',
    );
    expect(body.error).toMatch(/msgpack/);
  });

  it('a msgpack 64-bit join key beyond 2^53 → 422 like its JSON spelling, not a 500', async () => {
    // A BigInt is packed as a msgpack 64-bit integer (0xd3), as other languages' clients pack large ints.
    const body = plainPackr.pack({ features: ['user_stats:txn_count'], entities: { user_id: [2n ** 60n] } });
    expect(body.includes(0xd3)).toBe(true);
    const res = await features(body, { 'content-type': 'application/msgpack' });
    expect(expectError(res, 422, 'QUIVER_ERR_INVALID_VALUE').error).toContain('"entities.user_id[0]"');
    const json = await features({ features: ['user_stats:txn_count'], entities: { user_id: [2 ** 60] } });
    expect(json.body).toEqual(res.body);
  });

  it('valid msgpack that is not a map → 400 QUIVER_ERR_INVALID_REQUEST', async () => {
    const res = await features(plainPackr.pack([1, 2, 3]), { 'content-type': 'application/msgpack' });
    expectError(res, 400, 'QUIVER_ERR_INVALID_REQUEST');
  });

  it(`a body over server.maxBodyBytes (${MAX_BODY_BYTES}) → 413 QUIVER_ERR_BODY_TOO_LARGE`, async () => {
    const ids = Array.from({ length: 2000 }, (_, i) => i);
    const big = JSON.stringify({ features: ['user_stats:txn_count'], entities: { user_id: ids } });
    expect(big.length).toBeGreaterThan(MAX_BODY_BYTES);
    const body = expectError(await features(big), 413, 'QUIVER_ERR_BODY_TOO_LARGE');
    expect(body.error).toContain(String(MAX_BODY_BYTES));
  });

  it('a chunked body (no content-length) over the limit → 413 as well', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${server.url}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).code).toBe('QUIVER_ERR_BODY_TOO_LARGE');
  });
});

describe('POST /get-online-features — features', () => {
  it('missing "features" (and no feature_service) → 400', async () => {
    const body = expectError(
      await features({ entities: { user_id: [1001] } }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toMatch(/features/);
  });

  it.each([
    ['a string', 'user_stats:txn_count'],
    ['an object', { user_stats: ['txn_count'] }],
    ['a number', 1],
    ['an empty array', []],
    ['an array with a non-string', ['user_stats:txn_count', 7]],
  ])('"features" as %s → 400 QUIVER_ERR_INVALID_REQUEST', async (_what, value) => {
    const body = expectError(
      await features({ features: value, entities: { user_id: [1001] } }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toMatch(/"features"/);
  });

  it.each(['nocolon', 'user_stats:', ':txn_count', 'user_stats:txn_count:extra'])(
    'a malformed ref "%s" → 400 QUIVER_ERR_BAD_FEATURE_REF',
    async (ref) => {
      const body = expectError(
        await features({ features: [ref], entities: { user_id: [1001] } }),
        400,
        'QUIVER_ERR_BAD_FEATURE_REF',
      );
      expect(body.error).toContain(`"${ref}"`);
    },
  );

  it('an unknown view → 404 QUIVER_ERR_UNKNOWN_FEATURE_VIEW listing the views', async () => {
    const body = expectError(
      await features({ features: ['user_stat:txn_count'], entities: { user_id: [1001] } }),
      404,
      'QUIVER_ERR_UNKNOWN_FEATURE_VIEW',
    );
    expect(body.error).toContain('"user_stat"');
    expect(body.details).toEqual({
      available: ['user_stats', 'merchant_stats', 'amount_ratio'],
      didYouMean: 'user_stats',
    });
  });

  it('an unknown feature → 404 QUIVER_ERR_UNKNOWN_FEATURE with details.available', async () => {
    const body = expectError(
      await features({ features: ['user_stats:txn_cnt'], entities: { user_id: [1001] } }),
      404,
      'QUIVER_ERR_UNKNOWN_FEATURE',
    );
    expect(body).toEqual({
      error: 'Unknown feature "txn_cnt" in view "user_stats"',
      code: 'QUIVER_ERR_UNKNOWN_FEATURE',
      details: {
        available: ['txn_count', 'avg_amount', 'risk_score', 'is_vip', 'country', 'embedding'],
        didYouMean: 'txn_count',
      },
    });
  });

  it('an unknown feature of an on-demand view → 404 QUIVER_ERR_UNKNOWN_FEATURE', async () => {
    const body = expectError(
      await features({ features: ['amount_ratio:nope'], entities: { user_id: [1001], amount: [1] } }),
      404,
      'QUIVER_ERR_UNKNOWN_FEATURE',
    );
    expect(body.details).toEqual({ available: ['ratio'] });
  });

  it('an unknown feature service → 404 QUIVER_ERR_UNKNOWN_FEATURE_SERVICE', async () => {
    const body = expectError(
      await features({ feature_service: 'fraud_v2', entities: { user_id: [1001] } }),
      404,
      'QUIVER_ERR_UNKNOWN_FEATURE_SERVICE',
    );
    expect(body.details).toEqual({ available: ['user_basics', 'fraud_v1'], didYouMean: 'fraud_v1' });
  });

  it('feature_service that is not a string → 400', async () => {
    expectError(
      await features({ feature_service: 7, entities: { user_id: [1001] } }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
  });

  it('both "features" and "feature_service" → 400', async () => {
    const body = expectError(
      await features({
        features: ['user_stats:txn_count'],
        feature_service: 'user_basics',
        entities: { user_id: [1001] },
      }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toMatch(/not both/);
  });

  it("refs that only spell a cached feature service's key are still refused", async () => {
    // Warm the plan cache with the service, then send refs whose joined text equals its cache key.
    expect((await features({ feature_service: 'user_basics', entities: { user_id: [1001] } })).status).toBe(
      200,
    );
    expectError(
      await features({ features: ['service', 'user_basics'], entities: { user_id: [1001] } }),
      400,
      'QUIVER_ERR_BAD_FEATURE_REF',
    );
  });
});

describe('POST /get-online-features — entities', () => {
  it('missing "entities" → 400', async () => {
    const body = expectError(
      await features({ features: ['user_stats:txn_count'] }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toMatch(/entities/);
  });

  it.each([
    ['an array', [1001]],
    ['a string', '1001'],
    ['null', null],
  ])('"entities" as %s → 400', async (_what, value) => {
    const body = expectError(
      await features({ features: ['user_stats:txn_count'], entities: value }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toMatch(/entities/);
  });

  it('an entity column that is not an array → 400 naming it', async () => {
    const body = expectError(
      await features({ features: ['user_stats:txn_count'], entities: { user_id: 1001 } }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toContain('entities.user_id');
  });

  it('no entities at all (empty columns) → 400', async () => {
    expectError(
      await features({ features: ['user_stats:txn_count'], entities: { user_id: [] } }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
  });

  it('a missing join key → 400 QUIVER_ERR_MISSING_JOIN_KEY', async () => {
    const body = expectError(
      await features({ features: ['user_stats:txn_count'], entities: { userid: [1001] } }),
      400,
      'QUIVER_ERR_MISSING_JOIN_KEY',
    );
    expect(body.error).toContain('"user_id"');
    expect(body.details).toEqual({ joinKey: 'user_id' });
  });

  it('one join key of a composite entity missing → 400 QUIVER_ERR_MISSING_JOIN_KEY', async () => {
    const body = expectError(
      await features({ features: ['merchant_stats:*'], entities: { merchant_id: ['m1'] } }),
      400,
      'QUIVER_ERR_MISSING_JOIN_KEY',
    );
    expect(body.details).toEqual({ joinKey: 'country_code' });
  });

  it('columns of different lengths → 400 QUIVER_ERR_ENTITY_LENGTH_MISMATCH', async () => {
    const body = expectError(
      await features({
        features: ['merchant_stats:*'],
        entities: { merchant_id: ['m1', 'm1'], country_code: ['NL'] },
      }),
      400,
      'QUIVER_ERR_ENTITY_LENGTH_MISMATCH',
    );
    expect(body.error).toContain('"country_code" has 1, expected 2');
  });

  it.each([
    ['null', null, 'null'],
    ['an object', { id: 1 }, 'object'],
    ['an array', [1001], 'object'],
    ['a float', 1.5, 'number'],
    ['an unsafe integer', 2 ** 60, 'number'],
    ['a boolean', true, 'boolean'],
    ['an empty string', '', 'an empty string'],
    ['a string over 1024 UTF-8 bytes', 'é'.repeat(513), 'a string of 1026 bytes'],
  ])(
    'a join key value that is %s → 422 QUIVER_ERR_INVALID_VALUE naming entities.user_id[1]',
    async (_what, value, actual) => {
      const body = expectError(
        await features({ features: ['user_stats:txn_count'], entities: { user_id: [1001, value, 1002] } }),
        422,
        'QUIVER_ERR_INVALID_VALUE',
      );
      expect(body.error).toBe(
        `Invalid value for "entities.user_id[1]": expected a non-empty string (at most 1024 UTF-8 bytes) or a safe integer, got ${actual}`,
      );
    },
  );

  it('a bad value in the second join key of a composite entity names that key', async () => {
    const body = expectError(
      await features({
        features: ['merchant_stats:*'],
        entities: { merchant_id: ['m1', 'm1'], country_code: ['NL', null] },
      }),
      422,
      'QUIVER_ERR_INVALID_VALUE',
    );
    expect(body.error).toContain('"entities.country_code[1]"');
  });

  it.each([
    ['a string', 'yes'],
    ['a number', 1],
  ])('full_feature_names as %s → 400', async (_what, value) => {
    const body = expectError(
      await features({ ...GOOD, full_feature_names: value }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toContain('"full_feature_names"');
  });
});

describe('POST /get-online-features — request data of on-demand views', () => {
  it('missing request data → 400 QUIVER_ERR_MISSING_REQUEST_DATA', async () => {
    const body = expectError(
      await features({ features: ['amount_ratio:ratio'], entities: { user_id: [1001] } }),
      400,
      'QUIVER_ERR_MISSING_REQUEST_DATA',
    );
    expect(body.error).toBe(
      'Missing request data field "amount" (needed by on-demand feature view "amount_ratio")',
    );
  });

  it.each([
    ['the string "NaN"', 'NaN'],
    ['a numeric string', '12.5'],
    ['null', null],
    ['a boolean', true],
  ])('request data that is %s → 422 QUIVER_ERR_INVALID_VALUE naming amount[i]', async (_what, value) => {
    const body = expectError(
      await features({
        features: ['amount_ratio:ratio'],
        entities: { user_id: [1001, 1002], amount: [10, value] },
      }),
      422,
      'QUIVER_ERR_INVALID_VALUE',
    );
    expect(body.error).toContain('"amount[1]"');
  });

  it('request data of the wrong length → 400 QUIVER_ERR_ENTITY_LENGTH_MISMATCH', async () => {
    expectError(
      await features({ features: ['amount_ratio:ratio'], entities: { user_id: [1001, 1002], amount: [10] } }),
      400,
      'QUIVER_ERR_ENTITY_LENGTH_MISMATCH',
    );
  });
});

describe('routes', () => {
  it('an unknown route → 404 QUIVER_ERR_ROUTE_NOT_FOUND', async () => {
    const body = expectError(
      await server.post('/get-online-feature', GOOD),
      404,
      'QUIVER_ERR_ROUTE_NOT_FOUND',
    );
    expect(body.error).toBe('No route POST /get-online-feature');
  });

  it('GET on a POST route → 405 QUIVER_ERR_METHOD_NOT_ALLOWED, saying which method to use', async () => {
    const res = await server.get('/get-online-features?x=1');
    expect(expectError(res, 405, 'QUIVER_ERR_METHOD_NOT_ALLOWED').error).toBe(
      'GET is not allowed on /get-online-features: use POST',
    );
    expect(res.headers.get('allow')).toBe('POST');
    // A path with a parameter too; a path no method has is still 404.
    const predict = await server.get('/v1/models/anything/predict');
    expect(expectError(predict, 405, 'QUIVER_ERR_METHOD_NOT_ALLOWED').error).toMatch(/use POST$/);
    expect((await server.post('/healthz', {})).headers.get('allow')).toBe('GET, HEAD');
    expectError(await server.get('/v1/models/anything/nothing'), 404, 'QUIVER_ERR_ROUTE_NOT_FOUND');
    // A trailing slash is another path for the router, with no route for any method.
    expectError(await server.post('/get-online-features/', GOOD), 404, 'QUIVER_ERR_ROUTE_NOT_FOUND');
  });

  it("the router's own refusals come in Quiver's error shape", async () => {
    // A path parameter over the router's limit (Fastify answered 414 FST_ERR_MAX_PARAM_LENGTH).
    const long = expectError(
      await server.get(`/v1/jobs/${'a'.repeat(300)}`),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(long.error).toBe('a path segment is longer than 256 characters');
    // Up to the limit, the route itself answers.
    expectError(await server.get(`/v1/jobs/${'a'.repeat(256)}`), 404, 'QUIVER_ERR_UNKNOWN_JOB');
    // A malformed percent-encoding in a parameter (Fastify answered FST_ERR_BAD_URL).
    const bad = expectError(await server.get('/v1/jobs/%E0%A4%A'), 400, 'QUIVER_ERR_INVALID_REQUEST');
    expect(bad.error).toContain('percent-encoding');
  });

  /** Sends raw bytes; returns the status line and body of the answer, once the server has closed. */
  async function raw(bytes: string): Promise<{ statusLine: string; body: ErrorBody }> {
    const { hostname, port } = new URL(server.url);
    const socket = await openSocket(Number(port), hostname);
    socket.setEncoding('latin1');
    let text = '';
    socket.on('data', (chunk: string) => (text += chunk));
    socket.write(bytes);
    await once(socket, 'close'); // the server closes the connection after such an answer
    const headEnd = text.indexOf('\r\n\r\n');
    return {
      statusLine: text.slice(0, text.indexOf('\r\n')),
      body: JSON.parse(text.slice(headEnd + 4)) as ErrorBody,
    };
  }

  it.each([
    [
      'Content-Length with Transfer-Encoding',
      'content-length: 2\r\ntransfer-encoding: chunked\r\n',
      /Transfer-Encoding/i,
    ],
    ['a Content-Length that is not a number', 'content-length: abc\r\n', /Content-Length/i],
  ])(
    "framing node:http's parser refuses (%s) → 400 QUIVER_ERR_MALFORMED_HTTP",
    async (_name, headers, reason) => {
      const answer = await raw(`POST /get-online-features HTTP/1.1\r\nhost: x\r\n${headers}\r\n{}`);
      expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
      expect(answer.body.code).toBe('QUIVER_ERR_MALFORMED_HTTP');
      expect(answer.body.error).toMatch(reason);
      expect(answer.body.error).toMatch(/the connection is closed$/);
    },
  );

  it('headers over the size limit → 431 QUIVER_ERR_HEADERS_TOO_LARGE', async () => {
    const answer = await raw(
      `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(maxHeaderSize)}\r\n\r\n`,
    );
    expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(answer.body).toEqual({
      error: `The request headers exceed ${maxHeaderSize} bytes (node --max-http-header-size); the connection is closed`,
      code: 'QUIVER_ERR_HEADERS_TOO_LARGE',
    });
  });
});

describe('POST /push — errors write nothing', () => {
  const push = (body: unknown): Promise<TestResponse> => server.post('/push', body);

  /** Reads txn_count of the given users and returns their statuses. */
  async function statusesOf(ids: number[]): Promise<string[]> {
    const res = await features({ features: ['user_stats:txn_count'], entities: { user_id: ids } });
    expect(res.status).toBe(200);
    return (res.body as { results: { statuses: string[] }[] }).results[1]!.statuses;
  }

  async function txnCountOf(id: number): Promise<unknown> {
    const res = await features({ features: ['user_stats:txn_count'], entities: { user_id: [id] } });
    return (res.body as { results: { values: unknown[] }[] }).results[1]!.values[0];
  }

  it('an unknown push source → 404 QUIVER_ERR_UNKNOWN_FEATURE_VIEW', async () => {
    const body = expectError(
      await push({ push_source_name: 'nope_push', df: { user_id: [5001], txn_count: [1] }, to: 'online' }),
      404,
      'QUIVER_ERR_UNKNOWN_FEATURE_VIEW',
    );
    expect(body.error).toContain('"nope_push"');
  });

  it('an on-demand view as push target → 400 saying it is computed, not stored', async () => {
    const body = expectError(
      await push({ push_source_name: 'amount_ratio', df: { user_id: [5001], ratio: [1] } }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toBe(
      '"amount_ratio" is an on-demand feature view: its features are computed at request time, so nothing can be pushed to it',
    );
  });

  it('missing push_source_name → 400', async () => {
    expectError(await push({ df: { user_id: [5001] }, to: 'online' }), 400, 'QUIVER_ERR_INVALID_REQUEST');
  });

  it.each([
    ['missing', undefined],
    ['an array', [{ user_id: 5001 }]],
    ['a string', 'user_id=5001'],
    ['empty', {}],
  ])('df %s → 400', async (_what, df) => {
    expectError(
      await push({ push_source_name: 'user_stats_push', df, to: 'online' }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
  });

  it('a df column that is not an array → 400', async () => {
    expectError(
      await push({ push_source_name: 'user_stats_push', df: { user_id: 5001, txn_count: 1 }, to: 'online' }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
  });

  it('columns of unequal length → 400, nothing written', async () => {
    const body = expectError(
      await push({
        push_source_name: 'user_stats_push',
        df: userStatsDf({ user_id: [5001, 5002], txn_count: [1] }),
        to: 'online',
      }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toMatch(/equal lengths/);
    expect(await statusesOf([5001, 5002])).toEqual(['NOT_FOUND', 'NOT_FOUND']);
  });

  it('"to": "offline" → 400 (there is no offline store)', async () => {
    const body = expectError(
      await push({
        push_source_name: 'user_stats_push',
        df: userStatsDf({ user_id: [5001], txn_count: [1] }),
        to: 'offline',
      }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toContain('"to" must be "online" (or Feast\'s "online_and_offline"');
    expect(await statusesOf([5001])).toEqual(['NOT_FOUND']);
  });

  it('an unknown column → 404 QUIVER_ERR_UNKNOWN_FEATURE naming it, nothing written', async () => {
    const body = expectError(
      await push({
        push_source_name: 'user_stats_push',
        df: userStatsDf({ user_id: [5001], txn_cnt: [1] }),
        to: 'online',
      }),
      404,
      'QUIVER_ERR_UNKNOWN_FEATURE',
    );
    expect(body.error).toBe('Unknown feature "txn_cnt" in view "user_stats"');
    expect(body.details).toMatchObject({ unknown: ['txn_cnt'] });
    expect(await statusesOf([5001])).toEqual(['NOT_FOUND']);
  });

  it('a missing join key column → 400 QUIVER_ERR_MISSING_COLUMNS', async () => {
    const body = expectError(
      await push({ push_source_name: 'user_stats_push', df: userStatsDf({ txn_count: [1] }), to: 'online' }),
      400,
      'QUIVER_ERR_MISSING_COLUMNS',
    );
    expect(body.details).toEqual({ missing: ['user_id'] });
  });

  it('features left out → 400 naming them all, nothing written (a push sends whole rows)', async () => {
    const body = expectError(
      await push({
        push_source_name: 'user_stats_push',
        df: { user_id: [5301], txn_count: [1], country: ['NL'] },
      }),
      400,
      'QUIVER_ERR_MISSING_COLUMNS',
    );
    expect(body.error).toBe(
      'Push to feature view "user_stats" lacks columns "avg_amount", "risk_score", "is_vip", "embedding": ' +
        'a push writes whole rows, so send every join key and feature (null where a value is unknown)',
    );
    expect(body.details).toEqual({ missing: ['avg_amount', 'risk_score', 'is_vip', 'embedding'] });
    expect(await statusesOf([5301])).toEqual(['NOT_FOUND']);
  });

  it('one bad value among good rows → 422 naming the column, and NOTHING is written', async () => {
    const body = expectError(
      await push({
        push_source_name: 'user_stats_push',
        df: userStatsDf({
          user_id: [5001, 5002, 1001],
          txn_count: [10, 'many', 999],
          event_timestamp: [new Date().toISOString(), new Date().toISOString(), new Date().toISOString()],
        }),
        to: 'online',
      }),
      422,
      'QUIVER_ERR_INVALID_VALUE',
    );
    expect(body.error).toContain('"txn_count"');
    expect(body.details).toMatchObject({ view: 'user_stats', badRowCount: 1, badRows: [{ row: 1 }] });
    // Neither the good new rows nor the good update of an existing row were written.
    expect(await statusesOf([5001, 5002])).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(await txnCountOf(1001)).toBe(42);
  });

  it('an event time far in the future → 422 naming the column, and nothing is written', async () => {
    const body = expectError(
      await push({
        push_source_name: 'user_stats_push',
        df: userStatsDf({ user_id: [1001], txn_count: [7], event_timestamp: ['2099-01-01T00:00:00Z'] }),
        to: 'online',
      }),
      422,
      'QUIVER_ERR_INVALID_VALUE',
    );
    expect(body.error).toContain('at most 15 minutes in the future');
    expect(await txnCountOf(1001)).toBe(42);
  });

  it.each([
    ['an int64 that is a float', 5101, { txn_count: [1.5] }],
    ['a float32 that is NaN text', 5102, { avg_amount: ['NaN'] }],
    ['a bool that is a word', 5103, { is_vip: ['maybe'] }],
    ['an embedding with a string', 5104, { embedding: [[1, 'x']] }],
    ['a float32 beyond its range (finite as float64, infinite as float32)', 5105, { avg_amount: [1e39] }],
    ['an embedding element beyond the float32 range', 5106, { embedding: [[1, -1e39]] }],
    ['a bad timestamp', 5107, { event_timestamp: ['yesterday-ish'] }],
  ])('%s → 422, nothing written', async (_what, id, columns) => {
    const res = await push({
      push_source_name: 'user_stats_push',
      df: userStatsDf({ user_id: [id], ...columns }),
      to: 'online',
    });
    expectError(res, 422, 'QUIVER_ERR_INVALID_VALUE');
    expect(await statusesOf([id])).toEqual(['NOT_FOUND']);
  });

  it('a join key too long for a store key, beside a good row → 422 naming it, not even the good row written', async () => {
    const res = await push({
      push_source_name: 'user_stats_push',
      df: userStatsDf({ user_id: [5201, 'k'.repeat(1500)], txn_count: [1, 2] }),
    });
    const body = expectError(res, 422, 'QUIVER_ERR_INVALID_VALUE');
    expect(body.error).toContain('at most 1024 UTF-8 bytes');
    expect(await statusesOf([5201])).toEqual(['NOT_FOUND']);
  });

  it('a bad join key → 422', async () => {
    const res = await push({
      push_source_name: 'user_stats_push',
      df: userStatsDf({ user_id: [null], txn_count: [1] }),
    });
    expect(expectError(res, 422, 'QUIVER_ERR_INVALID_VALUE').error).toContain('"user_id"');
  });
});

describe('after all the bad requests', () => {
  it('a good request still gets the right answer', async () => {
    const res = await features({
      features: ['user_stats:txn_count', 'amount_ratio:ratio'],
      entities: { user_id: [1001], amount: [25] },
    });
    expect(res.status).toBe(200);
    const doc = res.body as {
      metadata: unknown;
      results: { values: unknown[]; statuses: string[]; event_timestamps: string[] }[];
    };
    expect(doc.metadata).toEqual({ feature_names: ['user_id', 'txn_count', 'ratio'] });
    expect(doc.results.slice(0, 2)).toEqual([
      { values: [1001], statuses: ['PRESENT'], event_timestamps: ['1970-01-01T00:00:00Z'] },
      { values: [42], statuses: ['PRESENT'], event_timestamps: [rfc3339(FRESH_TS_MS)] },
    ]);
    expect(doc.results[2]!.values).toEqual([2]);
    expect(doc.results[2]!.statuses).toEqual(['PRESENT']);
  });

  it('and a good push still works', async () => {
    const res = await server.post('/push', {
      push_source_name: 'user_stats_push',
      df: userStatsDf({ user_id: [5009], txn_count: [3] }),
      to: 'online',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ rows: 1, written: 1, skippedStale: 0 });
  });

  it('the server is still healthy', async () => {
    const res = await server.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});
