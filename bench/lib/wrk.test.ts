import { describe, expect, it } from 'vitest';
import { parseWrkOutput, parseWrkTime, wrkCommand, wrkScript, WRK_JSON_MARKER } from './wrk.ts';

/** Captured from `wrk -t1 -c32 -d3s --latency -s <generated script>` against `quiver serve`. */
const WITH_LUA = `Running 3s test @ http://127.0.0.1:18555/get-online-features
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    13.28ms   27.53ms 333.68ms   96.44%
    Req/Sec     3.68k     1.48k    6.33k    66.67%
  Latency Distribution
     50%    7.33ms
     75%   11.05ms
     90%   17.73ms
     99%  173.42ms
  11047 requests in 3.02s, 23.37MB read
Requests/sec:   3657.00
Transfer/sec:      7.74MB
${WRK_JSON_MARKER}{"requests":11047,"duration_us":3020782,"bytes":24507769,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},"latency_us":{"min":282,"max":333682,"mean":13276.466,"stdev":27527.828,"p50":7331,"p90":17732,"p99":173420,"p999":291389}}
`;

/** Captured against a path that answers 404, with socket errors added as wrk prints them. */
const TEXT_ONLY_WITH_ERRORS = `Running 2s test @ http://127.0.0.1:18555/nope
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.23ms    6.03ms  67.15ms   95.67%
    Req/Sec     1.54k     0.86k    3.65k    70.00%
  Latency Distribution
     50%  273.00us
     75%    2.22ms
     90%    5.15ms
     99%   37.76ms
  3070 requests in 2.01s, 0.86MB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 3070
Requests/sec:   1529.74
Transfer/sec:    437.71KB
`;

describe('parseWrkOutput', () => {
  it('prefers the exact figures of the Lua done() JSON', () => {
    const r = parseWrkOutput(WITH_LUA, 32);
    expect(r.source).toBe('lua');
    expect(r.requests).toBe(11047);
    expect(r.durationSeconds).toBeCloseTo(3.020782, 6);
    expect(r.requestsPerSecond).toBeCloseTo(11047 / 3.020782, 3);
    expect(r.latencyUs).toMatchObject({
      p50: 7331,
      p90: 17732,
      p99: 173420,
      p999: 291389,
      min: 282,
      max: 333682,
    });
    expect(r.errors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0, status: 0, non2xx: 0 });
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([]);
  });

  it('falls back to the text summary and flags errors and non-2xx responses', () => {
    const r = parseWrkOutput(TEXT_ONLY_WITH_ERRORS, 1);
    expect(r.source).toBe('text');
    expect(r.requests).toBe(3070);
    expect(r.durationSeconds).toBeCloseTo(2.01, 6);
    expect(r.latencyUs.p50).toBeCloseTo(273, 6);
    expect(r.latencyUs.p99).toBeCloseTo(37_760, 6);
    expect(r.latencyUs.p999).toBeNaN();
    expect(r.bytes).toBe(Math.round(0.86 * 1024 * 1024));
    expect(r.errors).toMatchObject({ read: 2, timeout: 5, non2xx: 3070 });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      '7 socket errors (connect 0, read 2, write 0, timeout 5)',
      '3070 of 3070 responses were not 2xx',
    ]);
  });

  it('flags status errors reported only by the Lua summary', () => {
    const out = WITH_LUA.replace('"status":0', '"status":12');
    const r = parseWrkOutput(out, 32);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(['12 of 11047 responses were not 2xx']);
  });

  it('throws on output it cannot read', () => {
    expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused', 1)).toThrow(
      /cannot parse/,
    );
  });
});

describe('parseWrkTime', () => {
  it.each([
    ['273.00us', 273],
    ['7.33ms', 7330],
    ['1.50s', 1_500_000],
    ['2.00m', 120_000_000],
  ])('%s → %d µs', (text, us) => expect(parseWrkTime(text)).toBeCloseTo(us, 6));
  it('is NaN for anything else', () => expect(parseWrkTime('fast')).toBeNaN());
});

describe('wrkScript', () => {
  it('embeds every body as a long string that its own text cannot close', () => {
    const script = wrkScript({ bodies: ['{"a":[[1]]}', '{"b":"]=]"}', '{"c":[[2]],"d":"]=]"}'] });
    expect(script).toContain('[=[{"a":[[1]]}]=]');
    expect(script).toContain('[[{"b":"]=]"}]]');
    expect(script).toContain('[==[{"c":[[2]],"d":"]=]"}]==]');
    expect(script).toContain('wrk.format([[POST]], nil, { ["Content-Type"] = [[application/json]] }, body)');
    expect(script).toContain(WRK_JSON_MARKER);
  });
  it('needs at least one body', () => expect(() => wrkScript({ bodies: [] })).toThrow(/at least one/));
});

describe('wrkCommand', () => {
  const options = { url: 'http://127.0.0.1:1/x', connections: 32, seconds: 2 };
  it('runs wrk itself when no CPUs are given', () => {
    expect(wrkCommand(options, '/s.lua')).toEqual([
      'wrk',
      ['-t1', '-c32', '-d2s', '--timeout', '2s', '--latency', '-s', '/s.lua', 'http://127.0.0.1:1/x'],
    ]);
  });
  it('runs wrk under taskset, pinned from its start, when CPUs are given', () => {
    const [command, args] = wrkCommand({ ...options, cpus: '1', wrkPath: '/opt/wrk' }, '/s.lua');
    expect(command).toBe('taskset');
    expect(args.slice(0, 4)).toEqual(['-c', '1', '/opt/wrk', '-t1']);
    expect(args.at(-1)).toBe('http://127.0.0.1:1/x');
  });
});
