/**
 * Answers what node:http's parser refuses before any route sees it — a malformed request line or
 * framing (Content-Length with Transfer-Encoding, a Content-Length that is not a number), headers
 * over the size limit, a request that never arrives in full — in Quiver's error shape, with a
 * QUIVER_ERR_* code, instead of the framework's `{"message":"Client Error"}`. The connection is
 * closed after it: once framing is lost, nothing later on it can be trusted.
 */
import { maxHeaderSize, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { quiverError, type QuiverError } from '../errors.ts';
import { errorBody, STATUS_BY_KIND } from './error-handler.ts';

/** A parser error as node:http reports it (`reason` is llhttp's own words for HPE_* codes). */
interface ClientError extends Error {
  readonly code?: string;
  readonly reason?: string;
}

function clientErrorToQuiver(err: ClientError): QuiverError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return quiverError('QUIVER_ERR_HEADERS_TOO_LARGE', { limitBytes: maxHeaderSize });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return quiverError('QUIVER_ERR_REQUEST_TIMEOUT');
    default: {
      const reason = err.reason ?? err.message;
      return quiverError('QUIVER_ERR_MALFORMED_HTTP', {
        reason: err.code ? `${err.code}: ${reason}` : reason,
      });
    }
  }
}

/** For Fastify's `clientErrorHandler` (node:http's 'clientError' event). */
export function answerClientError(err: ClientError, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // As node:http's own handler: write only if no answer has begun on this connection, so a
  // pipelined request's error cannot land inside an earlier request's answer.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && (inFlight == null || !inFlight.headersSent)) {
    const error = clientErrorToQuiver(err);
    const status = STATUS_BY_KIND[error.kind];
    const body = JSON.stringify(errorBody(error));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
