/**
 * The HTTP ceiling: the physical limit of serving the scenario's responses over node:http on this
 * machine, measured in the same run as Quiver. A child process (ceiling-server.ts) answers every
 * POST with one fixed buffer: a real Quiver response for the scenario, read once from the running
 * server, so the bytes on the wire match and only Quiver's own work is missing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNodeProcess, type ServerProcess } from './server-process.ts';

const CEILING_SERVER = fileURLToPath(new URL('./ceiling-server.ts', import.meta.url));

export interface CapturedResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/** Sends one request to the real server and keeps the response exactly as received. */
export async function captureResponse(
  url: string,
  body: string,
  contentType = 'application/json',
): Promise<CapturedResponse> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? 'application/json',
    body: bytes,
  };
}

/** Starts the ceiling server with `response` as its fixed answer. */
export async function startCeiling(response: CapturedResponse): Promise<ServerProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), 'quiver-ceiling-'));
  const bodyPath = path.join(dir, 'body');
  await writeFile(bodyPath, response.body);
  const port = await freePort();
  try {
    const server = await startNodeProcess({
      name: 'ceiling',
      port,
      // The same TypeScript loader as bin/quiver.js, so both processes carry the same baggage.
      args: ['--import', 'tsx', CEILING_SERVER, bodyPath, response.contentType, String(port)],
    });
    return {
      ...server,
      async stop(graceMs?: number) {
        await server.stop(graceMs);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
