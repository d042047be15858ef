/**
 * The start-up banner's example requests work as printed, whatever the config declares first: a
 * composite entity (every join key is sent), a feature service with on-demand request data, and
 * auth on (the key comes from the env variable the banner names).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { banner, BANNER_KEY_ENV } from '../../src/cli/banner.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { sha256Hex } from '../../src/limits/api-keys.ts';
import { startTestServer, testConfigObject, type TestServer } from '../fixtures/config.ts';

const KEY = 'qk_banner-0123456789-secret';

interface PrintedRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The banner's POST examples: a `curl -s URL -H … \` line, then its `-d '…'` line. */
function printedPosts(text: string, url: string, env: Record<string, string>): PrintedRequest[] {
  const lines = text.split('\n');
  const requests: PrintedRequest[] = [];
  lines.forEach((line, i) => {
    const curl = /curl -s (\S+)(.*) \\$/.exec(line);
    if (curl === null) return;
    const headers: Record<string, string> = {};
    for (const [, name, value] of curl[2]!.matchAll(/-H ['"]([^:]+): ([^'"]+)['"]/g)) {
      headers[name!] = value!.replace(/\$(\w+)/g, (_, v: string) => env[v] ?? '');
    }
    const body = /-d '(.*)'$/.exec(lines[i + 1]!)![1]!;
    requests.push({ path: curl[1]!.slice(url.length), headers, body });
  });
  return requests;
}

describe.each([
  ['auth on', true],
  ['auth off', false],
])('banner examples (%s)', (_name, authOn) => {
  let server: TestServer;
  let text: string;

  beforeAll(async () => {
    const base = testConfigObject();
    const config = validateConfig(
      {
        ...base,
        // The composite-key view and the service with request data come first: the banner uses them.
        featureViews: [...base.featureViews].reverse(),
        featureServices: [...base.featureServices!].reverse(),
        auth: authOn
          ? { apiKeys: [{ id: 'reader', keySha256: sha256Hex(KEY), scopes: ['features:read'] }] }
          : { enabled: false },
      },
      '',
    );
    server = await startTestServer({ config });
    text = banner({ url: server.url, config });
  });

  afterAll(async () => {
    await server.close();
  });

  it('every printed request is answered 200', async () => {
    const requests = printedPosts(text, server.url, { [BANNER_KEY_ENV]: KEY });
    expect(requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([
      {
        feature_service: 'fraud_v1',
        entities: {
          user_id: ['1', '2'],
          merchant_id: ['1', '2'],
          country_code: ['1', '2'],
          amount: [25, 4000],
        },
      },
      { features: ['merchant_stats:txn_count_1d'], entities: { merchant_id: ['1'], country_code: ['1'] } },
    ]);
    for (const { path, headers, body } of requests) {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
      expect(res.status, `${path} ${body}: ${await res.text()}`).toBe(200);
    }
    expect(text.includes(`x-api-key: $${BANNER_KEY_ENV}`)).toBe(authOn);
  });
});
