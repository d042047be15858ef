/**
 * CoDel-style adaptive shedding (Nichols & Jacobson, RFC 8289) as a pure decision. The batcher
 * calls it once per dequeue with how long the dequeued work waited (its sojourn time); the state it
 * returns goes into the next call. No clock, no timers: tests drive it with a fake clock.
 *
 * The control law, as in CoDel:
 * - A queue is "bad" when the sojourn stayed at or above `targetDelayMs` for a whole `intervalMs`
 *   (every dequeue in that interval, i.e. the minimum over the interval, was above target): a
 *   standing queue, not a passing burst. Then it enters the shedding state and sheds once.
 * - While shedding, it sheds again each time `dropNext` comes, and `dropNext` moves forward by
 *   `intervalMs / sqrt(count)`: the shed rate rises slowly until the queue drains below target.
 * - A dequeue below target leaves the shedding state at once.
 * - Re-entering soon after leaving (within 16 intervals) resumes near the previous shed rate
 *   instead of starting from one, so an oscillating overload is not under-shed.
 *
 * @example
 *   let state = INITIAL_SHEDDING_STATE;
 *   const d = shouldShed(state, sojournUs, nowNs, { targetDelayMs: 5, intervalMs: 100 });
 *   state = d.state;
 *   if (d.shed) shedLowestPriorityRequest();
 */

export interface SheddingPolicy {
  /** Acceptable standing queueing delay. */
  readonly targetDelayMs: number;
  /** How long the delay must stay above target before shedding starts; also sets the shed pace. */
  readonly intervalMs: number;
}

export interface SheddingState {
  /** Monotonic ns at which a delay above target for a whole interval allows shedding; -1: not above. */
  readonly firstAboveNs: number;
  readonly shedding: boolean;
  /** When the next shed is due while shedding. */
  readonly dropNextNs: number;
  /** Sheds since entering the shedding state (sets the pace: interval / sqrt(count)). */
  readonly count: number;
  /** `count` when the shedding state was last entered. */
  readonly lastCount: number;
}

export interface SheddingDecision {
  readonly shed: boolean;
  readonly state: SheddingState;
}

export const INITIAL_SHEDDING_STATE: SheddingState = Object.freeze({
  firstAboveNs: -1,
  shedding: false,
  dropNextNs: 0,
  count: 0,
  lastCount: 0,
});

/** CoDel's re-entry window: leaving and re-entering within this many intervals keeps the pace. */
const REENTRY_INTERVALS = 16;

/** The next shed time: `from + interval / sqrt(count)`. */
export function controlLaw(fromNs: number, intervalNs: number, count: number): number {
  return fromNs + intervalNs / Math.sqrt(count);
}

/** One dequeue's decision: shed one request now or not, and the state for the next call. */
export function shouldShed(
  state: SheddingState,
  sojournUs: number,
  nowNs: number,
  policy: SheddingPolicy,
): SheddingDecision {
  const intervalNs = policy.intervalMs * 1e6;
  let firstAboveNs = state.firstAboveNs;
  let okToShed = false;
  if (sojournUs < policy.targetDelayMs * 1000) firstAboveNs = -1;
  else if (firstAboveNs < 0) firstAboveNs = nowNs + intervalNs;
  else if (nowNs >= firstAboveNs) okToShed = true;

  if (state.shedding) {
    if (!okToShed) return { shed: false, state: { ...state, firstAboveNs, shedding: false } };
    if (nowNs < state.dropNextNs) return { shed: false, state: { ...state, firstAboveNs } };
    const count = state.count + 1;
    return {
      shed: true,
      state: { ...state, firstAboveNs, count, dropNextNs: controlLaw(state.dropNextNs, intervalNs, count) },
    };
  }
  if (!okToShed) return { shed: false, state: { ...state, firstAboveNs } };

  const delta = state.count - state.lastCount;
  const resume = delta > 1 && nowNs - state.dropNextNs < REENTRY_INTERVALS * intervalNs;
  const count = resume ? delta : 1;
  return {
    shed: true,
    state: {
      firstAboveNs,
      shedding: true,
      dropNextNs: controlLaw(nowNs, intervalNs, count),
      count,
      lastCount: count,
    },
  };
}
