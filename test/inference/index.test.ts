/**
 * GET / is the index a person reads first: it names the feature services and models, and every
 * endpoint it lists exists (none answers "no route").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInferenceServer, type InferenceServer } from '../fixtures/inference.ts';

let server: InferenceServer;
beforeAll(async () => {
  server = await startInferenceServer();
});
afterAll(() => server.close());

interface Index {
  service: string;
  featureServices: string[];
  models: string[];
  endpoints: Record<string, string>;
}

describe('GET /', () => {
  it('names the feature services and models, and every endpoint it lists is routed', async () => {
    const res = await server.get('/');
    expect(res.status).toBe(200);
    const index = res.body as Index;
    expect(index.featureServices).toEqual(server.config.featureServices.map((s) => s.name));
    expect(index.models).toEqual(server.config.models.map((m) => m.name));
    const model = index.models[0]!;
    const endpoints = Object.keys(index.endpoints);
    expect(endpoints).toEqual(
      expect.arrayContaining(['POST /get-online-features', 'POST /v1/models/{model}/predict']),
    );
    for (const endpoint of endpoints) {
      const [method, template] = endpoint.split(' ') as [string, string];
      const path = template.replace('{model}', model).replace('{id}', 'no-such-job');
      const answer = method === 'GET' ? await server.get(path) : await server.post(path, {});
      const code = (answer.body as { code?: string } | undefined)?.code;
      expect(code, `${endpoint} → ${answer.status}`).not.toBe('QUIVER_ERR_ROUTE_NOT_FOUND');
    }
  });
});
