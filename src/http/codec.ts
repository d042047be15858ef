/**
 * Request and response encodings: JSON (the default for any content type, because Feast's own curl
 * examples post JSON as form-encoded) and MessagePack (`application/msgpack`, both ways).
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Packr, Unpackr } from 'msgpackr';
import { quiverError, type QuiverError } from '../errors.ts';

const MSGPACK_TYPES = ['application/msgpack', 'application/x-msgpack', 'application/vnd.msgpack'];
// Plain msgpack: no shared structures or records, so any msgpack client can decode it.
const packr = new Packr({ useRecords: false, variableMapSize: true });
// 64-bit integers decode as numbers, exactly as JSON.parse reads them: a BigInt would pass validation
// (ids ≥ 2^32, epoch-ms timestamps) and then fail JSON serialization of the echoed join keys with a 500.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/**
 * The refusal of a compressed body (`Content-Encoding` other than identity), undefined otherwise:
 * read as it is, a gzip body would fail as "invalid JSON: Unexpected token", which hides the cause.
 */
export function encodingRefusal(contentEncoding: string | undefined): QuiverError | undefined {
  if (contentEncoding === undefined || contentEncoding === '' || contentEncoding.toLowerCase() === 'identity')
    return undefined;
  return quiverError('QUIVER_ERR_UNSUPPORTED_ENCODING', { encoding: contentEncoding });
}

export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  // The encoding is checked in the parsers, which run only for a body: a probe with a stray
  // Content-Encoding still gets its answer.
  const parser =
    (decode: (body: Buffer) => unknown) =>
    (req: FastifyRequest, body: Buffer, done: (err: Error | null, value?: unknown) => void): void => {
      try {
        const refusal = encodingRefusal(req.headers['content-encoding']);
        if (refusal !== undefined) throw refusal;
        done(null, decode(body));
      } catch (err) {
        done(err as Error, undefined);
      }
    };
  app.addContentTypeParser(MSGPACK_TYPES, { parseAs: 'buffer' }, parser(parseMsgpackBody));
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parser(parseJsonBody));
}

/** A MessagePack body, as both request paths read it. */
export function parseMsgpackBody(body: Buffer): unknown {
  try {
    return unpackr.unpack(body);
  } catch (err) {
    throw quiverError('QUIVER_ERR_MALFORMED_BODY', { reason: `invalid msgpack: ${(err as Error).message}` });
  }
}

/**
 * A JSON body, as both request paths read it. JSON is UTF-8 (RFC 8259): bytes that are not would
 * otherwise be read as U+FFFD and look up, say, an entity that was never sent.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0)
    throw quiverError('QUIVER_ERR_MALFORMED_BODY', { reason: 'the body is empty; send a JSON object' });
  if (!isUtf8(body))
    throw quiverError('QUIVER_ERR_MALFORMED_BODY', { reason: 'the body is not valid UTF-8 (JSON must be)' });
  // A byte order mark, which RFC 8259 lets a parser ignore (some Windows tools write one).
  const start = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  try {
    return JSON.parse(body.toString('utf8', start));
  } catch (err) {
    throw quiverError('QUIVER_ERR_MALFORMED_BODY', { reason: `invalid JSON: ${(err as Error).message}` });
  }
}

/** True when the client asked for MessagePack answers (`Accept: application/msgpack` or a variant). */
export function acceptsMsgpack(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('msgpack');
}

/**
 * Answers of Fastify's routes in MessagePack for a client that accepts it; errors stay JSON, as on the
 * fast path, so a client reads every error the same way.
 */
export function installMsgpackReplies(app: FastifyInstance): void {
  app.addHook('preSerialization', (request, reply, payload, done) => {
    if (reply.statusCode < 400 && acceptsMsgpack(request.headers.accept)) {
      // Fastify types a serializer as returning a string, but sends a Buffer as is (reply.js onSendEnd).
      reply.type('application/msgpack').serializer(packMsgpack as unknown as (payload: unknown) => string);
    }
    done(null, payload);
  });
}

export function packMsgpack(document: unknown): Buffer {
  return packr.pack(document);
}
