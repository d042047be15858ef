/**
 * HTTP/1.1 spoken by hand over a socket, for tests that need what a client library will not do:
 * several requests in one write (pipelining), a body cut off half-way, a connection left at will.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

export async function openSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  const socket = connect(port, host);
  await once(socket, 'connect');
  return socket;
}

/**
 * Reads from `socket` until `count` answers framed by content-length have arrived; returns their
 * bodies in order. Bytes are read as latin1, so a body's length in characters is its length in bytes.
 */
export async function readAnswers(socket: Socket, count: number): Promise<string[]> {
  socket.setEncoding('latin1');
  const bodies: string[] = [];
  let text = '';
  while (bodies.length < count) {
    const [chunk] = (await once(socket, 'data')) as [string];
    text += chunk;
    for (;;) {
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd < 0) break;
      const length = Number(/content-length: (\d+)/i.exec(text.slice(0, headEnd))?.[1]);
      if (text.length < headEnd + 4 + length) break;
      bodies.push(text.slice(headEnd + 4, headEnd + 4 + length));
      text = text.slice(headEnd + 4 + length);
    }
  }
  return bodies;
}
