import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { WriteCoalescer } from './write-coalescer.ts';

/** A real server that hands each request's response to the test once its body has arrived. */
async function startServer(): Promise<{ server: Server; port: number; next: () => Promise<ServerResponse> }> {
  const waiting: ((res: ServerResponse) => void)[] = [];
  const arrived: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const take = waiting.shift();
      if (take !== undefined) take(res);
      else arrived.push(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const next = (): Promise<ServerResponse> => {
    const res = arrived.shift();
    return res !== undefined ? Promise.resolve(res) : new Promise((resolve) => waiting.push(resolve));
  };
  return { server, port: (server.address() as AddressInfo).port, next };
}

interface Answer {
  status: number;
  body: string;
}

function post(port: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { port, host: '127.0.0.1', method: 'POST', path: '/', agent: false },
      (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

const headersFor = (body: string) => ({
  'content-type': 'text/plain',
  'content-length': Buffer.byteLength(body),
});

/** Keeps the CPU busy for `ms`, as a long computation between two answers would. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('WriteCoalescer', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** `count` requests in flight: their responses on the server, and what each client gets (or its error). */
  async function inFlight(
    count: number,
  ): Promise<{ answers: Promise<Answer | Error>[]; responses: ServerResponse[] }> {
    const started = await startServer();
    server = started.server;
    const answers = Array.from({ length: count }, () => post(started.port).catch((err: Error) => err));
    const responses: ServerResponse[] = [];
    for (let i = 0; i < count; i++) responses.push(await started.next());
    return { answers, responses };
  }

  it('holds the answers of a turn and writes them together, in order, when the turn ends', async () => {
    const { answers, responses } = await inFlight(3);
    const written: [string, number][] = [];
    const writes = new WriteCoalescer<string>(1000, (tag, startedMs, nowMs) => {
      expect(nowMs).toBeGreaterThanOrEqual(startedMs);
      written.push([tag, startedMs]);
    });

    responses.forEach((res, i) => writes.write(res, headersFor(`answer ${i}`), `answer ${i}`, `tag ${i}`, i));
    expect(writes.held).toBe(3);
    expect(responses.map((r) => r.headersSent)).toEqual([false, false, false]);

    await nextTurn();
    expect(writes.held).toBe(0);
    expect(responses.map((r) => r.writableEnded)).toEqual([true, true, true]);
    expect(written).toEqual([
      ['tag 0', 0],
      ['tag 1', 1],
      ['tag 2', 2],
    ]);
    expect(await Promise.all(answers)).toEqual([0, 1, 2].map((i) => ({ status: 200, body: `answer ${i}` })));
  });

  it('writes everything held once the oldest answer has waited its hold time', async () => {
    const { answers, responses } = await inFlight(2);
    const [first, second] = responses as [ServerResponse, ServerResponse];
    let count = 0;
    const writes = new WriteCoalescer<null>(2, () => count++);

    writes.write(first, headersFor('slow'), 'slow', null, performance.now());
    busy(3); // the next answer took longer to compute than the first may wait
    expect(first.headersSent).toBe(false);
    writes.write(second, headersFor('next'), Buffer.from('next'), null, performance.now());
    expect(writes.held).toBe(0);
    expect([first.writableEnded, second.writableEnded]).toEqual([true, true]);
    expect(count).toBe(2);
    expect(await Promise.all(answers)).toEqual([
      { status: 200, body: 'slow' },
      { status: 200, body: 'next' },
    ]);
  });

  it('writes each answer at once with a hold time of 0', async () => {
    const {
      answers: [answer],
      responses: [res],
    } = await inFlight(1);
    let count = 0;
    const writes = new WriteCoalescer<null>(0, () => count++);

    writes.write(res!, headersFor('now'), 'now', null, performance.now());
    expect(res!.writableEnded).toBe(true);
    expect(writes.held).toBe(0);
    expect(count).toBe(1);
    expect(await answer).toEqual({ status: 200, body: 'now' });
  });

  it('skips an answer whose client left while it was held, and writes the others', async () => {
    const {
      answers: [gone, stays],
      responses: [left, kept],
    } = await inFlight(2);
    const written: string[] = [];
    const writes = new WriteCoalescer<string>(1000, (tag) => written.push(tag));

    writes.write(left!, headersFor('lost'), 'lost', 'left', performance.now());
    writes.write(kept!, headersFor('kept'), 'kept', 'kept', performance.now());
    left!.destroy(); // the connection drops before the turn ends
    writes.flush();

    expect(written).toEqual(['kept']);
    expect(await stays).toEqual({ status: 200, body: 'kept' });
    expect(await gone).toBeInstanceOf(Error);
  });

  it('drops the connection of an answer node:http refuses and still writes the rest of the batch', async () => {
    const {
      answers: [refused, fine],
      responses: [bad, good],
    } = await inFlight(2);
    const written: string[] = [];
    const writes = new WriteCoalescer<string>(1000, (tag) => written.push(tag));

    writes.write(bad!, { ...headersFor('x'), 'x-broken': 'line\nbreak' }, 'x', 'bad', performance.now());
    writes.write(good!, headersFor('fine'), 'fine', 'good', performance.now());
    writes.flush();

    expect(written).toEqual(['good']);
    expect(writes.held).toBe(0);
    expect(bad!.destroyed).toBe(true);
    expect(await fine).toEqual({ status: 200, body: 'fine' });
    expect(await refused).toBeInstanceOf(Error);
  });
});
