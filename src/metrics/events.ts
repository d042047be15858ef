/**
 * Named diagnostics channels: hot code publishes, metrics/ (and anything else) subscribes. Publishing
 * with no subscriber costs one boolean check (`hasSubscribers`).
 */
import diagnostics from 'node:diagnostics_channel';

export interface BatchFlushEvent {
  readonly model: string;
  readonly requests: number;
  readonly rows: number;
  /** How long the oldest request in the batch waited in the queue. */
  readonly queueDelayUs: number;
}

export interface BatchDoneEvent {
  readonly model: string;
  readonly rows: number;
  readonly durationUs: number;
  readonly failed: boolean;
}

export interface AdmissionRejectEvent {
  readonly model: string;
  readonly priority: number;
  readonly reason: 'queue_full' | 'expired' | 'cancelled' | 'shed' | 'closed';
}

export const channels = {
  batchFlush: diagnostics.channel('quiver:batch:flush'),
  batchDone: diagnostics.channel('quiver:batch:done'),
  admissionReject: diagnostics.channel('quiver:admission:reject'),
} as const;
