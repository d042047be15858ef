/**
 * Request and response encodings: JSON (the default for any content type, because Feast's own curl
 * examples post JSON as form-encoded) and MessagePack (`application/msgpack`, both ways).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Packr, Unpackr } from 'msgpackr';
import { quiverError } from '../errors.ts';

const MSGPACK_TYPES = ['application/msgpack', 'application/x-msgpack', 'application/vnd.msgpack'];
// Plain msgpack: no shared structures or records, so any msgpack client can decode it.
const packr = new Packr({ useRecords: false, variableMapSize: true });
// 64-bit integers decode as numbers, exactly as JSON.parse reads them: a BigInt would pass validation
// (ids ≥ 2^32, epoch-ms timestamps) and then fail JSON serialization of the echoed join keys with a 500.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(MSGPACK_TYPES, { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    try {
      done(null, unpackr.unpack(body));
    } catch (err) {
      done(
        quiverError('QUIVER_ERR_MALFORMED_BODY', { reason: `invalid msgpack: ${(err as Error).message}` }),
        undefined,
      );
    }
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body: string, done) => {
    try {
      done(null, JSON.parse(body));
    } catch (err) {
      const reason =
        body.length === 0
          ? 'the body is empty; send a JSON object'
          : `invalid JSON: ${(err as Error).message}`;
      done(quiverError('QUIVER_ERR_MALFORMED_BODY', { reason }), undefined);
    }
  });
}

export function wantsMsgpack(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return accept !== undefined && accept.includes('msgpack');
}

/** Sends a document as msgpack when the client asked for it, else as JSON text (`json` if given). */
export function sendDocument(
  request: FastifyRequest,
  reply: FastifyReply,
  document: unknown,
  json?: string,
): FastifyReply {
  if (wantsMsgpack(request)) return reply.type('application/msgpack').send(packr.pack(document));
  return reply.type('application/json').send(json ?? JSON.stringify(document));
}

export function packMsgpack(document: unknown): Buffer {
  return packr.pack(document);
}
