/**
 * The jobs' diagnostics channel: the consumer publishes every settlement, so metrics, logs and tests
 * observe jobs without reaching into the consumer. Publishing with no subscriber costs one check.
 */
import diagnostics from 'node:diagnostics_channel';

export interface JobSettledEvent {
  readonly id: string;
  readonly model: string;
  /**
   * done / failed: a final result was stored (failed includes dead-lettered jobs);
   * retry: it failed and was republished; requeue: an infrastructure failure gave it back;
   * duplicate: it was already final (a redelivery), acked without running again.
   */
  readonly outcome: 'done' | 'failed' | 'retry' | 'requeue' | 'duplicate';
  readonly attempts: number;
  /** Enqueue → settlement, by the job's wall-clock creation time. */
  readonly ageMs: number;
  readonly deadLettered: boolean;
}

export const jobChannels = {
  settled: diagnostics.channel('quiver:job:settled'),
} as const;
