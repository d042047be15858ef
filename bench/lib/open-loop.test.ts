import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODES, isHigh, runLoad } from './open-loop.ts';

describe('isHigh', () => {
  it('marks exactly the given share of requests, spread evenly', () => {
    const marks = Array.from({ length: 100 }, (_, i) => isHigh(i, 0.2));
    expect(marks.filter(Boolean)).toHaveLength(20);
    expect(marks.slice(0, 10)).toEqual([false, false, false, false, true, false, false, false, false, true]);
    expect(Array.from({ length: 50 }, (_, i) => isHigh(i, 0)).some(Boolean)).toBe(false);
    expect(Array.from({ length: 50 }, (_, i) => isHigh(i, 1)).every(Boolean)).toBe(true);
  });
});

describe('runLoad (a child process against a local server)', () => {
  let server: http.Server;
  let url: string;
  const seen: { priority: string | undefined; body: string }[] = [];

  beforeAll(async () => {
    // High priority answers 200; low priority alternately 503 QUEUE_FULL and 504; bodies echo back.
    let low = 0;
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const priority = req.headers['x-priority'] as string | undefined;
        seen.push({ priority, body });
        if (priority === '1') return res.end('{}');
        const full = low++ % 2 === 0;
        res.statusCode = full ? 503 : 504;
        res.end(JSON.stringify({ code: full ? 'QUIVER_ERR_QUEUE_FULL' : 'QUIVER_ERR_DEADLINE_EXCEEDED' }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  });

  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  it('sends on a fixed schedule with the share of high priority asked, and records each outcome', async () => {
    seen.length = 0;
    const r = await runLoad({
      url,
      bodies: ['a', 'b'],
      highFraction: 0.25,
      lowPriority: 3,
      phases: [
        { name: 'slow', seconds: 0.4, ratePerS: 50 },
        { name: 'fast', seconds: 0.4, ratePerS: 200 },
      ],
    });
    expect(r.phaseNames).toEqual(['slow', 'fast']);
    expect(r.status.length).toBe(20 + 80);
    expect(seen).toHaveLength(100);
    expect(seen.slice(0, 2).map((s) => s.body)).toEqual(['a', 'b']);
    // Request n of a phase is scheduled at phase start + n / rate.
    const fastStart = r.phaseStartMs[1]!;
    const fast = Array.from(r.scheduledMs).filter((_, i) => r.phase[i] === 1);
    expect(fast[10]! - fastStart).toBeCloseTo(50, 6);
    expect(Array.from(r.priority).filter((p) => p === 1)).toHaveLength(25);
    expect(new Set(seen.map((s) => s.priority))).toEqual(new Set(['1', '3']));
    for (let i = 0; i < r.status.length; i++) {
      expect(r.sentMs[i]!).toBeGreaterThanOrEqual(r.scheduledMs[i]!);
      expect(r.doneMs[i]!).toBeGreaterThanOrEqual(r.sentMs[i]!);
      const expected =
        r.priority[i] === 1
          ? [200, '']
          : r.status[i] === 503
            ? [503, 'QUIVER_ERR_QUEUE_FULL']
            : [504, 'QUIVER_ERR_DEADLINE_EXCEEDED'];
      expect([r.status[i], CODES[r.code[i]!]]).toEqual(expected);
    }
  });

  it('runs a closed-loop phase with a fixed number of connections', async () => {
    const r = await runLoad({
      url,
      bodies: ['c'],
      highFraction: 1,
      lowPriority: 2,
      phases: [{ name: 'closed', seconds: 0.3, connections: 3 }],
    });
    expect(r.status.length).toBeGreaterThan(3);
    expect(Array.from(r.status).every((s) => s === 200)).toBe(true);
  });

  it('records a request the server never answers as a client error', async () => {
    const silent = http.createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const r = await runLoad({
        url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`,
        bodies: ['x'],
        highFraction: 0,
        lowPriority: 2,
        timeoutMs: 100,
        phases: [{ name: 'one', seconds: 0.01, ratePerS: 100 }],
      });
      expect([r.status[0], CODES[r.code[0]!]]).toEqual([0, 'client']);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
