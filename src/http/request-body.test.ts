import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSocket, readAnswers } from '../../test/support/raw-http.ts';
import { BodyReceivingMessage, receiveBody, type BodySink } from './request-body.ts';

/** What a sink saw of one request, answered back to the client as JSON. */
interface Seen {
  body: string;
  chunks: number;
  /** The body went through the Readable (listeners), not straight from the parser. */
  streamed: boolean;
}

class AnsweringSink implements BodySink {
  chunks: Buffer[] = [];
  ends = 0;
  constructor(private readonly res: ServerResponse) {}
  bodyChunk(chunk: Buffer): void {
    this.chunks.push(chunk);
    chunkArrived?.();
  }
  bodyEnd(req: IncomingMessage): void {
    this.ends++;
    const seen: Seen = {
      body: Buffer.concat(this.chunks).toString('utf8'),
      chunks: this.chunks.length,
      streamed: (req as BodyReceivingMessage).streamed,
    };
    this.res.setHeader('content-type', 'application/json');
    this.res.end(JSON.stringify(seen));
  }
}

/** Called by the server whenever a sink gets a chunk (tests that send a body in parts wait on it). */
let chunkArrived: (() => void) | undefined;
/** The sink of the latest request, and its request. */
let latest: { sink: AnsweringSink; req: IncomingMessage; answered: Promise<unknown> } | undefined;

/**
 * `/sink`: the body to a sink from the request listener (straight from the parser);
 * `/late`: to a sink only once the parser has pushed some of it the ordinary way (listeners);
 * `/destroy`: to a sink, and the request destroyed once its answer is written;
 * `/hold`: to a sink that never answers;
 * `/stream`: no sink, read with 'data' and 'end' like every other route.
 */
function handle(req: IncomingMessage, res: ServerResponse): void {
  const sink = new AnsweringSink(res);
  latest = { sink, req, answered: once(res, 'close') };
  if (req.url === '/sink') receiveBody(req, sink);
  else if (req.url === '/destroy') {
    res.on('finish', () => req.destroy());
    receiveBody(req, sink);
  } else if (req.url === '/hold') {
    receiveBody(req, {
      bodyChunk: (chunk) => sink.chunks.push(chunk),
      bodyEnd: () => {
        sink.ends++;
        chunkArrived?.();
      },
    });
  } else if (req.url === '/late') {
    const whenStreamed = (): void => {
      if ((req as BodyReceivingMessage).streamed) receiveBody(req, sink);
      else setImmediate(whenStreamed);
    };
    whenStreamed();
  } else {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => res.end(Buffer.concat(chunks)));
  }
}

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer({ IncomingMessage: BodyReceivingMessage }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function post(
  path: string,
  body: string | string[],
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    if (typeof body === 'string') req.end(body);
    else {
      for (const part of body) req.write(part);
      req.end();
    }
  });
}

const seen = async (path: string, body: string | string[], headers?: Record<string, string>) =>
  JSON.parse((await post(path, body, headers)).text) as Seen;

describe('receiveBody', () => {
  it('gives a sink the body straight from the parser, not through the stream', async () => {
    const body = JSON.stringify({ entities: { user_id: ['1', '2'] } });
    expect(await seen('/sink', body)).toEqual({ body, chunks: 1, streamed: false });
    expect(latest!.req.listenerCount('data')).toBe(0);
    // Nor is the stream resumed to drain it once answered ("dumped"): node:http knows it was read.
    await latest!.answered;
    expect(latest!.req.readableFlowing).toBe(null);
    expect(latest!.req.readableEnded).toBe(true);
  });

  it('gives a body sent in parts to the sink in order, each part as it arrives', async () => {
    const socket = await openSocket(port);
    const parts = ['{"entities":', '{"user_id":', '["1"]}}'];
    socket.write(head('/sink', parts.join('').length));
    for (const part of parts) {
      const arrived = new Promise<void>((resolve) => (chunkArrived = resolve));
      socket.write(part);
      await arrived; // the server has this part before the next is sent: one chunk each
    }
    chunkArrived = undefined;
    const [answer] = await readAnswers(socket, 1);
    expect(JSON.parse(answer!)).toEqual({ body: parts.join(''), chunks: 3, streamed: false });
    socket.destroy();
  });

  it('decodes a chunked body before the sink sees it', async () => {
    const parts = ['{"a":', '[1,2,3]', '}'];
    const got = await seen('/sink', parts, { 'transfer-encoding': 'chunked' });
    expect(got.body).toBe(parts.join(''));
    expect(got.streamed).toBe(false);
  });

  it('takes the body after a 100-continue', async () => {
    const body = '{"x":1}';
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(
        { port, host: '127.0.0.1', method: 'POST', path: '/sink', headers: { expect: '100-continue' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.on('continue', () => req.end(body));
    });
    expect(JSON.parse(answer)).toEqual({ body, chunks: 1, streamed: false });
  });

  it('gives an empty body as an end with no chunks', async () => {
    expect(await seen('/sink', '')).toEqual({ body: '', chunks: 0, streamed: false });
  });

  it('reads a body that reached the stream first with listeners, whole and once', async () => {
    const body = '{"late":true}';
    expect(await seen('/late', body)).toEqual({ body, chunks: 1, streamed: true });
    expect(latest!.sink.ends).toBe(1);
  });

  it('leaves requests without a sink ordinary readable streams', async () => {
    const body = 'x'.repeat(100_000);
    const answer = await post('/stream', body);
    expect(answer.text).toBe(body);
  });

  it('keeps a connection serving: pipelined requests are each answered, in order', async () => {
    const socket = await openSocket(port);
    socket.write(post1('/sink', '{"n":1}') + post1('/sink', '{"n":2}') + post1('/sink', '{"n":3}'));
    const answers = await readAnswers(socket, 3);
    expect(answers.map((a) => (JSON.parse(a) as Seen).body)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    // Then a fourth on the same connection, after the others were finished.
    socket.write(post1('/sink', '{"n":4}'));
    const [fourth] = await readAnswers(socket, 1);
    expect((JSON.parse(fourth!) as Seen).body).toBe('{"n":4}');
    socket.destroy();
  });

  it('leaves the connection serving when a request is destroyed after its answer', async () => {
    const socket = await openSocket(port);
    socket.write(post1('/destroy', '{"n":1}') + post1('/sink', '{"n":2}'));
    const answers = await readAnswers(socket, 2);
    expect(answers.map((a) => (JSON.parse(a) as Seen).body)).toEqual(['{"n":1}', '{"n":2}']);
    socket.destroy();
  });

  it('does not take a request whose whole body arrived for aborted when its client leaves', async () => {
    // The sink of /hold has the body's end and does not answer.
    const held = await leaveAfterSinkCall(post1('/hold', '{}'));
    expect(held.sink.ends).toBe(1);
    expect(held.req.aborted).toBe(false);
  });

  it('never ends the body of a client that left in the middle of it; the server goes on', async () => {
    const left = await leaveAfterSinkCall(head('/sink', 100) + '{"entities": {');
    expect(left.sink.ends).toBe(0);
    expect(left.sink.chunks.length).toBe(1);
    expect(await seen('/sink', '{"after":1}')).toEqual({ body: '{"after":1}', chunks: 1, streamed: false });
  });
});

/**
 * Sends `raw` on a new connection, closes it once the server's sink got a chunk (or, for /hold,
 * the end), and resolves with that request once node:http has closed it.
 */
async function leaveAfterSinkCall(raw: string): Promise<NonNullable<typeof latest>> {
  const socket = await openSocket(port);
  const called = new Promise<void>((resolve) => (chunkArrived = resolve));
  socket.write(raw);
  await called;
  chunkArrived = undefined;
  const left = latest!;
  // Not events.once: it listens for 'error' too, and the request's "aborted" error would reject it.
  const closed = new Promise((resolve) => left.req.on('close', resolve));
  socket.destroy();
  await closed;
  return left;
}

/** The head of a raw HTTP/1.1 POST announcing `length` bytes of body. */
function head(path: string, length: number): string {
  return `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${length}\r\n\r\n`;
}

/** A whole raw HTTP/1.1 POST, for writing several at once (pipelined). */
function post1(path: string, body: string): string {
  return head(path, body.length) + body;
}
