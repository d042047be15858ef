import { describe, expect, it } from 'vitest';
import { didYouMean } from './did-you-mean.ts';

describe('didYouMean', () => {
  it('finds the likely typo: a missing, extra, wrong or swapped letter, in any case', () => {
    expect(didYouMean('ttlSecond', ['schema', 'ttlSeconds', 'entities'])).toBe('ttlSeconds');
    expect(didYouMean('prot', ['host', 'port'])).toBe('port');
    expect(didYouMean('user_statz', ['merchant_stats', 'user_stats'])).toBe('user_stats');
    expect(didYouMean('featureService', ['featureServices', 'featureViews'])).toBe('featureServices');
    expect(didYouMean('OnlineStore', ['onlineStore'])).toBe('onlineStore');
  });

  it('prefers the closest candidate', () => {
    expect(didYouMean('user_stat', ['user_stats2', 'user_stats'])).toBe('user_stats');
  });

  it('suggests nothing for a name that is not near any candidate, or the name itself', () => {
    expect(didYouMean('banana', ['schema', 'entities'])).toBeUndefined();
    expect(didYouMean('ab', ['xy'])).toBeUndefined();
    expect(didYouMean('port', ['port'])).toBeUndefined();
    expect(didYouMean('x', [])).toBeUndefined();
  });
});
