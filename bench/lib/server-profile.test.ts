import { describe, expect, it } from 'vitest';
import { profileThreadId } from './server-profile.ts';

describe('profileThreadId', () => {
  it('reads the thread id from a --cpu-prof file name', () => {
    expect(profileThreadId('/x/CPU.20261121.153347.20102.0.001.cpuprofile')).toBe(0);
    expect(profileThreadId('CPU.20261121.153347.20102.12.002.cpuprofile')).toBe(12);
    expect(profileThreadId('other.cpuprofile')).toBeNaN();
  });
});
