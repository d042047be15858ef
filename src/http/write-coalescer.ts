/**
 * Answers finished in one event-loop turn are written together at the end of the turn, as Redis
 * writes its replies before the event loop sleeps (handleClientsWithPendingWrites) and Netty's
 * FlushConsolidationHandler holds flushes until the read loop is done.
 *
 * Why: a socket write that wakes a sleeping client costs the writer a wake-up of the client's
 * thread (in a VM, an inter-processor interrupt and an exit to the hypervisor). Written one by one
 * between ~20 µs lookups, nearly every answer found its client asleep again and paid that wake-up:
 * `perf` put ~8 µs of a 36 µs request in the kernel's `sock_def_readable` wake-up, against ~2 µs in
 * the plain node:http ceiling. Written back to back, one wake-up serves the batch. Same process,
 * alternating modes under `wrk -t1 -c32`: 31–32 µs of CPU per request one by one, 21–24 µs
 * coalesced (docs/decisions.md).
 *
 * The cost is latency for the early answers of a busy turn, so it is bounded: once the oldest held
 * answer has waited `holdMs`, the next answer to finish writes them all. A request alone in its
 * turn (light load) is written right after the poll phase that brought it, i.e. at once.
 *
 * @example
 *   const writes = new WriteCoalescer<Route>(0.5, (route, startedMs, nowMs) => observe(route, nowMs - startedMs));
 *   writes.write(res, { 'content-type': 'application/json', 'content-length': 2 }, '{}', route, startedMs);
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { responseBuffers } from '../features/response-buffers.ts';
// The module's binding, not the global: globalThis.performance is an accessor, a call per read.
import { performance } from 'node:perf_hooks';

/** Called once per answer handed to the socket (not for a client that left first). */
export type OnWritten<T> = (tag: T, startedMs: number, nowMs: number) => void;

export class WriteCoalescer<T> {
  // Parallel arrays, not an object per answer: a held answer costs five array slots. They keep
  // their length between turns (`#count` says how many slots hold answers): emptying them with
  // `length = 0` is a call into the V8 runtime each, and regrowing them another.
  readonly #responses: (ServerResponse | undefined)[] = [];
  readonly #headers: (OutgoingHttpHeaders | undefined)[] = [];
  readonly #bodies: (string | Buffer | undefined)[] = [];
  readonly #tags: (T | undefined)[] = [];
  readonly #started: number[] = [];
  #count = 0;
  #oldestMs = 0;
  #scheduled = false;
  readonly #endOfTurn = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** `holdMs` 0 writes every answer at once. */
  constructor(
    private readonly holdMs: number,
    private readonly onWritten: OnWritten<T>,
  ) {}

  /** Answers held now (for tests and diagnostics). */
  get held(): number {
    return this.#count;
  }

  /** Writes a 200 answer now or with the others of this turn; `tag` and `startedMs` go to onWritten. */
  write(
    res: ServerResponse,
    headers: OutgoingHttpHeaders,
    body: string | Buffer,
    tag: T,
    startedMs: number,
  ): void {
    const nowMs = performance.now();
    if (this.holdMs === 0) {
      if (writeAnswer(res, headers, body)) this.onWritten(tag, startedMs, nowMs);
      return;
    }
    const at = this.#count;
    if (at === 0) {
      this.#oldestMs = nowMs;
      if (!this.#scheduled) {
        this.#scheduled = true;
        // The check phase, right after the poll phase whose requests produced these answers.
        setImmediate(this.#endOfTurn);
      }
    }
    if (at === this.#responses.length) {
      this.#responses.push(res);
      this.#headers.push(headers);
      this.#bodies.push(body);
      this.#tags.push(tag);
      this.#started.push(startedMs);
    } else {
      this.#responses[at] = res;
      this.#headers[at] = headers;
      this.#bodies[at] = body;
      this.#tags[at] = tag;
      this.#started[at] = startedMs;
    }
    this.#count = at + 1;
    if (nowMs - this.#oldestMs >= this.holdMs) this.flush();
  }

  /** Writes every held answer, in the order they finished. */
  flush(): void {
    const count = this.#count;
    if (count === 0) return;
    this.#count = 0;
    const responses = this.#responses;
    const headers = this.#headers;
    const bodies = this.#bodies;
    const tags = this.#tags;
    const nowMs = performance.now();
    for (let i = 0; i < count; i++) {
      const res = responses[i]!;
      const head = headers[i]!;
      const body = bodies[i]!;
      const tag = tags[i]!;
      // The slots are reused by later turns: they must not keep this turn's objects alive.
      responses[i] = undefined;
      headers[i] = undefined;
      bodies[i] = undefined;
      tags[i] = undefined;
      let written: boolean;
      try {
        written = writeAnswer(res, head, body);
      } catch (err) {
        // An answer node:http refuses (a header it rejects) must not keep the others of its batch
        // from their sockets: its own connection is dropped instead.
        res.destroy(err as Error);
        continue;
      }
      if (written) this.onWritten(tag, this.#started[i]!, nowMs);
    }
  }
}

/** False when the client left before its answer could be written. */
function writeAnswer(res: ServerResponse, headers: OutgoingHttpHeaders, body: string | Buffer): boolean {
  if (res.destroyed) return false;
  // writeHead with a ready object, as the plain node:http ceiling does: setHeader costs a
  // validation and a megamorphic store into the header map per call (measured ~1% of the CPU).
  res.writeHead(200, headers);
  // A body written into responseBuffers goes back to it once the socket has written it.
  if (typeof body !== 'string' && responseBuffers.owns(body)) {
    res.end(body, () => responseBuffers.release(body));
  } else res.end(body);
  return true;
}
