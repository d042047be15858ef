import { describe, expect, it } from 'vitest';
import type { CapturedResponse } from '../lib/ceiling.ts';
import { FEATURE_NAMES } from '../lib/gbdt-data.ts';
import { predictBodies, predictLevels, validatePrediction } from './predict.ts';

const testRows = [
  { featureText: FEATURE_NAMES.map(() => '0'), gbdtProba: 0.25 },
  { featureText: FEATURE_NAMES.map(() => '1'), gbdtProba: 0.75 },
];

const response = (doc: unknown, status = 200): CapturedResponse => ({
  status,
  contentType: 'application/json',
  body: Buffer.from(JSON.stringify(doc)),
});

describe('predictBodies', () => {
  it('is deterministic, one string id per body, every id within the data', () => {
    const bodies = predictBodies(100, 500);
    expect(bodies).toEqual(predictBodies(100, 500));
    const ids = bodies.map((b) => (JSON.parse(b) as { entities: { row_id: string[] } }).entities.row_id);
    for (const id of ids) {
      expect(id).toHaveLength(1);
      expect(Number(id[0])).toBeGreaterThanOrEqual(1);
      expect(Number(id[0])).toBeLessThanOrEqual(100);
    }
    expect(new Set(ids.map((i) => i[0])).size).toBeGreaterThan(50);
  });
});

describe('validatePrediction', () => {
  const body = (id: number): string => JSON.stringify({ entities: { row_id: [String(id)] } });
  it("accepts the expected probability of the id's test row to 1e-5", () => {
    const ok = { model: 'gbdt', model_version: '1', outputs: { probability: [0.750004] } };
    expect(validatePrediction(response(ok), body(2), testRows)).toBeUndefined();
    expect(validatePrediction(response(ok), body(4), testRows)).toBeUndefined(); // id 4 → row 2
  });
  it('rejects a wrong probability, a missing feature, a wrong model, an error status', () => {
    expect(
      validatePrediction(response({ model: 'gbdt', outputs: { probability: [0.7501] } }), body(2), testRows),
    ).toMatch(/expected 0.75/);
    expect(
      validatePrediction(
        response({ model: 'gbdt', outputs: { probability: [0.75] }, feature_statuses: [{ index: 0 }] }),
        body(2),
        testRows,
      ),
    ).toMatch(/not all PRESENT/);
    expect(
      validatePrediction(response({ model: 'x', outputs: { probability: [0.75] } }), body(2), testRows),
    ).toMatch(/model/);
    expect(validatePrediction(response({ error: 'no' }, 503), body(2), testRows)).toMatch(/status 503/);
    expect(
      validatePrediction(
        response({ model: 'gbdt', outputs: { probability: [0.75, 0.25] } }),
        body(2),
        testRows,
      ),
    ).toMatch(/\[number\]/);
  });
});

describe('predictLevels', () => {
  it('defaults to the issue levels and reads an override', () => {
    expect(predictLevels(undefined)).toEqual([1, 16, 64, 256]);
    expect(predictLevels('64, 1,64')).toEqual([1, 64]);
    expect(() => predictLevels('1,x')).toThrow(/positive integers/);
  });
});
