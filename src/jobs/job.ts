/**
 * What an async job is: the message a broker carries (JobEnvelope: everything a consumer needs to
 * run it, so no other lookup is required) and the record a result store keeps (JobRecord: status,
 * attempts, result or error), and how both look on the wire.
 *
 * @example
 *   const envelope: JobEnvelope = { id, model: 'fraud', kind: 'predict', body: { entities }, priority: 2, createdAtMs: Date.now() };
 *   const bytes = encodeEnvelope(envelope); // the broker's message body
 */
import { quiverError } from '../errors.ts';

export type JobKind = 'predict' | 'infer';
export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export const JOB_KINDS: readonly JobKind[] = ['predict', 'infer'];

/** The broker message: the request exactly as the client sent it (re-validated by the consumer). */
export interface JobEnvelope {
  readonly id: string;
  readonly model: string;
  readonly kind: JobKind;
  /** The sync endpoint's body: `{entities, request?}` (predict) or `{inputs, outputs?, id?}` (infer). */
  readonly body: Readonly<Record<string, unknown>>;
  /** Quiver priority: 1 = highest. */
  readonly priority: number;
  readonly callbackUrl?: string;
  readonly createdAtMs: number;
}

export interface JobError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What the result store keeps per job, under its id, with a TTL. */
export interface JobRecord {
  readonly id: string;
  readonly model: string;
  readonly kind: JobKind;
  readonly status: JobStatus;
  /** Runs started so far (a worker that died mid-job counts too). */
  readonly attempts: number;
  readonly createdAtMs: number;
  readonly startedAtMs?: number;
  readonly finishedAtMs?: number;
  /** The sync endpoint's response body, when done. */
  readonly result?: unknown;
  /** Why it failed (status failed), or why the last attempt failed (status queued, retrying). */
  readonly error?: JobError;
}

export function isFinal(status: JobStatus): boolean {
  return status === 'done' || status === 'failed';
}

export function encodeEnvelope(envelope: JobEnvelope): Buffer {
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

/** Parses a broker message body; a malformed one is a poison message (QUIVER_ERR_INVALID_REQUEST). */
export function decodeEnvelope(content: Buffer): JobEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.toString('utf8'));
  } catch (err) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: `job message is not JSON: ${String(err)}` });
  }
  const e = parsed as Partial<JobEnvelope> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.id !== 'string' ||
    typeof e.model !== 'string' ||
    !JOB_KINDS.includes(e.kind as JobKind) ||
    typeof e.body !== 'object' ||
    e.body === null ||
    typeof e.priority !== 'number' ||
    typeof e.createdAtMs !== 'number'
  ) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: 'job message lacks id, model, kind or body' });
  }
  return e as JobEnvelope;
}

/** The JSON a client sees (GET /v1/jobs/{id}, callbacks). */
export interface JobView {
  readonly id: string;
  readonly status: JobStatus;
  readonly model: string;
  readonly kind: JobKind;
  readonly attempts: number;
  readonly created_at: string;
  readonly started_at?: string;
  readonly finished_at?: string;
  readonly result?: unknown;
  readonly error?: JobError;
}

export function jobView(record: JobRecord): JobView {
  return {
    id: record.id,
    status: record.status,
    model: record.model,
    kind: record.kind,
    attempts: record.attempts,
    created_at: new Date(record.createdAtMs).toISOString(),
    ...(record.startedAtMs === undefined ? {} : { started_at: new Date(record.startedAtMs).toISOString() }),
    ...(record.finishedAtMs === undefined
      ? {}
      : { finished_at: new Date(record.finishedAtMs).toISOString() }),
    ...(record.result === undefined ? {} : { result: record.result }),
    ...(record.error === undefined ? {} : { error: record.error }),
  };
}
