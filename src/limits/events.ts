/**
 * Diagnostics channels of auth and rate limiting (the pattern of metrics/events.ts: hot code
 * publishes, metrics/ subscribes; with no subscriber a publish costs one boolean check).
 * Events never carry a presented key, only the configured key id.
 */
import diagnostics from 'node:diagnostics_channel';

/** A request refused by the guard. */
export interface AuthRejectEvent {
  /** 'missing' or 'invalid' key (401), or 'forbidden' (403: the key lacks the scope). */
  readonly reason: 'missing' | 'invalid' | 'forbidden';
  readonly scope: string;
}

export interface RateLimitRejectEvent {
  /** Which kind of limit refused it. */
  readonly key: 'apiKey' | 'ip';
}

/** A shared (Redis) limiter could not answer; the check fell back to a local bucket. */
export interface RateLimitStoreErrorEvent {
  readonly store: 'redis';
  /** 'error' (the call failed or timed out) or 'circuit_open' (skipped while Redis recovers). */
  readonly reason: 'error' | 'circuit_open';
}

export const limitChannels = {
  authReject: diagnostics.channel('quiver:auth:reject'),
  rateLimitReject: diagnostics.channel('quiver:ratelimit:reject'),
  rateLimitStoreError: diagnostics.channel('quiver:ratelimit:store-error'),
} as const;
