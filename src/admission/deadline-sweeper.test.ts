import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineSweeper } from './deadline-sweeper.ts';

/** A fake queue: deadlines in ms of fake time; sweep() removes those due and reports the rest. */
function fakeQueue() {
  const deadlines: number[] = [];
  const swept: number[] = [];
  const sweep = (nowNs: number): number => {
    swept.push(nowNs / 1e6);
    for (let i = deadlines.length - 1; i >= 0; i--) if (deadlines[i]! * 1e6 <= nowNs) deadlines.splice(i, 1);
    return deadlines.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...deadlines) * 1e6;
  };
  return { deadlines, swept, sweep };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DeadlineSweeper', () => {
  const now = (): number => Date.now() * 1e6; // fake timers fake Date too

  it('sweeps at the earliest deadline, then at the next one', async () => {
    vi.setSystemTime(0);
    const q = fakeQueue();
    let after = 0;
    const sweeper = new DeadlineSweeper(now, q.sweep, () => after++);
    for (const d of [30, 10, 20]) {
      q.deadlines.push(d);
      sweeper.watch(d * 1e6, now());
    }
    await vi.advanceTimersByTimeAsync(9);
    expect(q.swept).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.swept).toEqual([10]);
    await vi.advanceTimersByTimeAsync(20);
    expect(q.swept).toEqual([10, 20, 30]);
    expect(q.deadlines).toEqual([]);
    expect(after).toBe(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(q.swept).toHaveLength(3); // nothing left: no timer
  });

  it('a later deadline does not delay the pending sweep', async () => {
    vi.setSystemTime(0);
    const q = fakeQueue();
    const sweeper = new DeadlineSweeper(now, q.sweep);
    q.deadlines.push(5, 50);
    sweeper.watch(5e6, now());
    sweeper.watch(50e6, now());
    await vi.advanceTimersByTimeAsync(5);
    expect(q.swept).toEqual([5]);
  });

  it('re-arms when the timer fired before the deadline it was set for', async () => {
    vi.setSystemTime(0);
    const q = fakeQueue();
    // A clock running 3 ms behind the timers: the first sweep finds the 10 ms deadline not due yet.
    const lagging = (): number => (Date.now() - 3) * 1e6;
    const sweeper = new DeadlineSweeper(lagging, q.sweep);
    q.deadlines.push(10);
    sweeper.watch(10e6, 0);
    await vi.advanceTimersByTimeAsync(10);
    expect(q.swept).toEqual([7]);
    expect(q.deadlines).toEqual([10]);
    await vi.advanceTimersByTimeAsync(3);
    expect(q.swept).toEqual([7, 10]);
    expect(q.deadlines).toEqual([]);
  });

  it('soon() sweeps on the next turn, once for several calls', async () => {
    const q = fakeQueue();
    const sweeper = new DeadlineSweeper(now, q.sweep);
    sweeper.soon();
    sweeper.soon();
    expect(q.swept).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(q.swept).toHaveLength(1);
  });

  it('stop() cancels what is pending', async () => {
    vi.setSystemTime(0);
    const q = fakeQueue();
    const sweeper = new DeadlineSweeper(now, q.sweep);
    q.deadlines.push(10);
    sweeper.watch(10e6, now());
    sweeper.soon();
    sweeper.stop();
    await vi.advanceTimersByTimeAsync(100);
    expect(q.swept).toEqual([]);
    sweeper.stop(); // idempotent
  });
});
