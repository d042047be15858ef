import { describe, expect, it } from 'vitest';
import {
  clockTicks,
  cpuBetween,
  cpuMicrosPerRequest,
  parseProcStat,
  parseSystemStat,
  readCpuTimes,
} from './proc-cpu.ts';

describe('parseProcStat', () => {
  it('reads utime (field 14) and stime (field 15)', () => {
    const line =
      '4242 (node) S 1 4242 4242 0 -1 4194560 18000 0 12 0 1234 567 0 0 20 0 11 0 880 1259745280 36000 18446744073709551615 1 1 0 0 0 0 0 16781312 134235650 0 0 0 17 1 0 0 0 0 0';
    expect(parseProcStat(line)).toEqual({ utimeTicks: 1234, stimeTicks: 567 });
  });

  it('counts fields from the last ")" so names with spaces and parentheses do not shift them', () => {
    const line =
      '12345 (my (odd) name) x) R 1 12345 12345 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 11 0 4242 1234567 890';
    expect(parseProcStat(line)).toEqual({ utimeTicks: 250, stimeTicks: 75 });
  });

  it('rejects what is not a stat line', () => {
    expect(() => parseProcStat('garbage')).toThrow(/not a \/proc/);
    expect(() => parseProcStat('1 (x) S 1 2')).toThrow(/utime/);
  });

  it('reads a live process', () => {
    const t = readCpuTimes(process.pid);
    expect(Number.isInteger(t.utimeTicks)).toBe(true);
    expect(Number.isInteger(t.stimeTicks)).toBe(true);
    expect(clockTicks()).toBeGreaterThan(0);
  });
});

describe('cpu arithmetic', () => {
  it('turns tick deltas into seconds and µs per request', () => {
    const cpu = cpuBetween({ utimeTicks: 100, stimeTicks: 50 }, { utimeTicks: 400, stimeTicks: 150 }, 100);
    expect(cpu).toEqual({ userSeconds: 3, systemSeconds: 1, totalSeconds: 4 });
    expect(cpuMicrosPerRequest(cpu, 100_000)).toBeCloseTo(40, 9);
    expect(cpuMicrosPerRequest(cpu, 0)).toBeNaN();
  });
});

describe('parseSystemStat', () => {
  it('counts everything but idle and iowait as busy', () => {
    const text = 'cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\nintr 123\n';
    expect(parseSystemStat(text)).toEqual({ busy: 161, total: 1181 });
  });
});
