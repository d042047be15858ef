/**
 * The HTTP ceiling's child process: a plain node:http server that reads each request body to the
 * end and answers every POST with the same pre-read buffer (a real Quiver response of the scenario,
 * byte for byte), so it does all the HTTP work of a request and none of Quiver's own.
 *
 * Usage: node --import tsx bench/lib/ceiling-server.ts <body file> <content type> <port>
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [bodyPath, contentType, portText] = process.argv.slice(2);
if (bodyPath === undefined || contentType === undefined || portText === undefined) {
  process.stderr.write('usage: ceiling-server.ts <body file> <content type> <port>\n');
  process.exit(2);
}

const body = readFileSync(bodyPath);
const headers = { 'content-type': contentType, 'content-length': String(body.length) };
const health = Buffer.from('{"status":"ok"}');
const healthHeaders = { 'content-type': 'application/json', 'content-length': String(health.length) };
const ignore = (): void => {};

// Fastify's default keep-alive (72 s), so idle connections behave the same in both servers.
const server = createServer({ keepAliveTimeout: 72_000 }, (req, res) => {
  if (req.method === 'POST') {
    req.on('data', ignore);
    req.on('end', () => {
      res.writeHead(200, headers);
      res.end(body);
    });
    return;
  }
  res.writeHead(200, healthHeaders);
  res.end(health);
});

server.listen(Number(portText), '127.0.0.1');

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
