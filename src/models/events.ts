/**
 * Diagnostics channels of the model runtimes (see metrics/events.ts for the pattern: hot code
 * publishes, metrics/ subscribes; with no subscriber a publish costs one boolean check).
 */
import diagnostics from 'node:diagnostics_channel';

/** One batch through one runner. */
export interface ModelRunEvent {
  readonly model: string;
  readonly runner: number;
  readonly threadId: number;
  /** Time inside the runtime's run() on the worker thread (0 when the run failed). */
  readonly computeUs: number;
  /** From dispatch to settled on the main thread: compute + hand-off both ways. */
  readonly roundTripUs: number;
  readonly failed: boolean;
}

/** A runner thread's life: crashed, replaced, or a replacement that failed to start. */
export interface ModelRunnerEvent {
  readonly model: string;
  readonly runner: number;
  readonly event: 'crashed' | 'restarted' | 'restart_failed';
  readonly reason?: string;
}

export const modelChannels = {
  run: diagnostics.channel('quiver:model:run'),
  runner: diagnostics.channel('quiver:model:runner'),
} as const;
