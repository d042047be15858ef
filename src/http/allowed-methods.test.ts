import { describe, expect, it } from 'vitest';
import { AllowedMethods } from './allowed-methods.ts';

describe('AllowedMethods', () => {
  const methods = new AllowedMethods();
  methods.register('POST', '/get-online-features');
  methods.register(['GET', 'HEAD'], '/v2/models/:model');
  methods.register('POST', '/v2/models/:model/infer');
  methods.register('GET', '/ui/*');

  it('matches static paths, one segment per :param, and the rest for *', () => {
    expect(methods.of('/get-online-features')).toEqual(['POST']);
    expect(methods.of('/v2/models/fraud')).toEqual(['GET', 'HEAD']);
    expect(methods.of('/v2/models/fraud/infer')).toEqual(['POST']);
    expect(methods.of('/ui/assets/app.js')).toEqual(['GET']);
  });

  it('finds nothing for a path no route has', () => {
    expect(methods.of('/v2/models')).toEqual([]);
    expect(methods.of('/v2/models/fraud/infer/more')).toEqual([]);
    expect(methods.of('/get-online-feature')).toEqual([]);
    // A trailing or doubled slash makes another path for Fastify: 404, not 405.
    expect(methods.of('/get-online-features/')).toEqual([]);
    expect(methods.of('//get-online-features')).toEqual([]);
    expect(methods.of('/v2/models//infer')).toEqual([]);
  });
});
