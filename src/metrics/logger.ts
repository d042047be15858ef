/** Structured logs (pino). API keys and bodies are never logged: the redact list is the guard. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'quiver',
    level: options.level ?? process.env.QUIVER_LOG_LEVEL ?? 'info',
    redact: ['req.headers["x-api-key"]', 'req.headers.authorization', 'apiKey', 'key'],
  });
}
