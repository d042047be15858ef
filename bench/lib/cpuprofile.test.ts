import { describe, expect, it } from 'vitest';
import { areaOf, renderProfileSummary, summariseProfile, type CpuProfile } from './cpuprofile.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
});

describe('summariseProfile', () => {
  // root → handler → (read → get) and root → (idle), root → (garbage collector)
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 5, 6] },
      { id: 2, callFrame: frame('handler', 'file:///repo/src/http/routes/features.ts', 40), children: [3] },
      { id: 3, callFrame: frame('read', 'file:///repo/src/stores/lmdb/lmdb-store.ts', 70), children: [4] },
      { id: 4, callFrame: frame('get', 'file:///repo/node_modules/lmdb/read.js', 10) },
      { id: 5, callFrame: frame('(idle)') },
      { id: 6, callFrame: frame('(garbage collector)') },
    ],
    // Sample i lasts timeDeltas[i + 1].
    samples: [2, 3, 4, 4, 5, 6, 2],
    timeDeltas: [0, 10, 20, 30, 30, 500, 10, 0],
    startTime: 0,
    endTime: 600,
  };

  it('attributes self and inclusive time per function and per area', () => {
    const s = summariseProfile(profile);
    expect(s.idleUs).toBe(500);
    expect(s.busyUs).toBe(100);
    const byName = Object.fromEntries(s.functions.map((f) => [f.name, f]));
    expect(byName.get).toMatchObject({ selfUs: 60, totalUs: 60, area: 'lmdb', location: 'lmdb/read.js:11' });
    expect(byName.read).toMatchObject({ selfUs: 20, totalUs: 80, area: 'src/stores' });
    expect(byName.handler).toMatchObject({
      selfUs: 10,
      totalUs: 90,
      area: 'src/http',
      location: 'src/http/routes/features.ts:41',
    });
    expect(s.functions[0]!.name).toBe('get');
    expect(s.areas).toEqual([
      { area: 'lmdb', selfUs: 60 },
      { area: 'src/stores', selfUs: 20 },
      { area: 'src/http', selfUs: 10 },
      { area: '(garbage collector)', selfUs: 10 },
    ]);
    expect(renderProfileSummary(s)).toContain('| 60.0% | 60.0% | get | lmdb/read.js:11 |');
  });

  it('keeps only the samples inside a window', () => {
    // Sample times: 0, 10, 30, 60, 90, 590, 600 (startTime 0 + cumulative deltas).
    const s = summariseProfile(profile, { fromUs: 10, toUs: 60 });
    expect(s.busyUs).toBe(50);
    expect(s.wallUs).toBe(50);
    expect(s.functions.find((f) => f.name === 'get')?.selfUs).toBe(30);
    expect(s.functions.find((f) => f.name === 'read')?.selfUs).toBe(20);
  });
});

describe('areaOf', () => {
  it.each([
    [frame('x', 'node:internal/streams/writable'), 'node internals'],
    [frame('x', 'file:///r/node_modules/@fastify/ajv-compiler/index.js'), '@fastify/ajv-compiler'],
    [frame('x', 'file:///r/node_modules/fastify/lib/reply.js'), 'fastify'],
    [frame('x', 'file:///r/src/main.ts'), 'src/'],
    [frame('x', ''), '(native)'],
    [frame('(program)'), '(program)'],
  ])('%o → %s', (f, area) => expect(areaOf(f)).toBe(area));
});
