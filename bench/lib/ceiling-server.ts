/**
 * The HTTP ceiling's child process: a plain node:http server that reads each request body to the
 * end and answers every POST with the same pre-read buffer (a real Quiver response of the scenario,
 * byte for byte), so it does all the HTTP work of a request and none of Quiver's own. GET /metrics
 * gives its event-loop delay in the gauges Quiver's /metrics uses.
 *
 * Usage: node --import tsx bench/lib/ceiling-server.ts <body file> <content type> <port>
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pinNextTickShape } from '../../src/tick-shape.ts';

const [bodyPath, contentType, portText] = process.argv.slice(2);
if (bodyPath === undefined || contentType === undefined || portText === undefined) {
  process.stderr.write('usage: ceiling-server.ts <body file> <content type> <port>\n');
  process.exit(2);
}

// As Quiver does: without it, a full GC in a quiet moment makes every later nextTick slower
// (src/tick-shape.ts), and a ceiling slowed by that would not be the limit.
pinNextTickShape();

const body = readFileSync(bodyPath);
const headers = { 'content-type': contentType, 'content-length': String(body.length) };
const health = Buffer.from('{"status":"ok"}');
const healthHeaders = { 'content-type': 'application/json', 'content-length': String(health.length) };
const ignore = (): void => {};

// The event-loop delay as Quiver's /metrics reports it (prom-client's default gauges: a 10 ms
// sampler, reset by every scrape), so the bench can show what the bare HTTP exchange alone costs
// the loop at each load level.
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
function eventLoopMetrics(): string {
  const gauge = (name: string, ns: number): string =>
    `quiver_nodejs_eventloop_lag_${name}_seconds ${ns / 1e9}\n`;
  const text =
    gauge('p50', loop.percentile(50)) +
    gauge('p99', loop.percentile(99)) +
    gauge('max', loop.max) +
    gauge('mean', loop.mean);
  loop.reset();
  return text;
}

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
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(eventLoopMetrics());
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
