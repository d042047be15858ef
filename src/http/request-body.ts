/**
 * Request bodies for the fast path, handed over by node:http's parser without the stream machinery.
 *
 * node:http's parser gives an IncomingMessage its body through `push()`, the way every Readable's
 * source does: `push(chunk)` per piece, `push(null)` at the end. Read with 'data' and 'end'
 * listeners, a one-packet body then costs the Readable's whole round: adding the listeners, a
 * scheduled resume, buffering and flowing the chunk, and the 'end' event, over three
 * `process.nextTick`s. Quiver's server makes its requests as `BodyReceivingMessage`
 * (createServer's documented `IncomingMessage` option), whose `push()` passes a body that a sink
 * has asked for straight to it, in the same call from the parser: ~11% less CPU per request on a
 * plain server, 8–12% on a one-entity lookup (docs/decisions.md).
 *
 * Anything the sink did not ask for before its first byte arrived (every Fastify route, a body
 * read after an asynchronous auth check) stays an ordinary Readable, and `receiveBody` reads such a
 * body with listeners instead. A request whose client leaves mid-body never reaches `bodyEnd`, as
 * with listeners ('end' never comes): its sink goes with it. A body given to a sink leaves its
 * request marked as read to the end (markRead), but no 'end' or 'close' event is emitted: nothing
 * may wait for them on such a request (the fast path watches its response's 'close').
 *
 * @example
 *   createServer({ IncomingMessage: BodyReceivingMessage }, (req, res) => receiveBody(req, sink));
 */
import { IncomingMessage } from 'node:http';

/** Where a request's body goes: its chunks in order, then the end, once. */
export interface BodySink {
  bodyChunk(chunk: Buffer): void;
  bodyEnd(req: IncomingMessage): void;
}

/** node:http's and the stream's own fields this module sets (not in @types/node). */
interface HttpInternals {
  /**
   * Set by IncomingMessage#_read once a reader consumes the body. node:http checks it when the
   * answer is finished: a request nobody read is "dumped" (resumed to drain it), a nextTick and a
   * stream round more per request.
   */
  _consuming: boolean;
  readonly _readableState: { ended: boolean; endEmitted: boolean };
}

/**
 * Records that the body was read to its end, as 'data' and 'end' listeners would have left the
 * request, without their round of ticks: `readableEnded` is true, so node:http lets go of the
 * request once it is answered (it would wait for an 'end' otherwise), does not dump its body, does
 * not take it for aborted if the client leaves before the answer, and `req.destroy()` after the
 * answer leaves the connection alone. The 'end' and 'close' events themselves are not emitted.
 */
function markRead(req: IncomingMessage): void {
  const internals = req as unknown as HttpInternals;
  internals._consuming = true;
  internals._readableState.ended = true;
  internals._readableState.endEmitted = true;
}

export class BodyReceivingMessage extends IncomingMessage {
  /** The sink waiting for this body; undefined when none is, or once it has had the end. */
  #sink: BodySink | undefined = undefined;
  #streamed = false;

  /** True once the parser pushed some of the body the ordinary way, into the stream. */
  get streamed(): boolean {
    return this.#streamed;
  }

  /** Hands the body to `sink` straight from the parser; false if some of it is in the stream already. */
  intercept(sink: BodySink): boolean {
    if (this.#streamed) return false;
    this.#sink = sink;
    return true;
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    const sink = this.#sink;
    if (sink === undefined) {
      this.#streamed = true;
      return super.push(chunk, encoding);
    }
    if (chunk === null) {
      this.#sink = undefined;
      markRead(this);
      sink.bodyEnd(this);
      return false;
    }
    // The parser only ever pushes Buffers; true: no back-pressure, the sink bounds what it keeps.
    sink.bodyChunk(chunk as Buffer);
    return true;
  }
}

/**
 * Hands `req`'s body to `sink`: straight from the parser when `req` is a BodyReceivingMessage and
 * nothing of the body has arrived yet, else through 'data' and 'end' listeners.
 */
export function receiveBody(req: IncomingMessage, sink: BodySink): void {
  if (req instanceof BodyReceivingMessage && req.intercept(sink)) return;
  const listening = req as IncomingMessage & { [LISTENING_SINK]?: BodySink };
  listening[LISTENING_SINK] = sink;
  req.on('data', onData);
  req.on('end', onEnd);
}

const LISTENING_SINK = Symbol('quiver.bodySink');

// Shared listeners that find their sink through `this`: no closure per request.
function onData(this: IncomingMessage & { [LISTENING_SINK]?: BodySink }, chunk: Buffer): void {
  this[LISTENING_SINK]!.bodyChunk(chunk);
}

function onEnd(this: IncomingMessage & { [LISTENING_SINK]?: BodySink }): void {
  const sink = this[LISTENING_SINK]!;
  this[LISTENING_SINK] = undefined;
  sink.bodyEnd(this);
}
