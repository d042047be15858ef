/** SIGTERM/SIGINT: drain once, exit 0; a second signal exits at once. */
import type { Logger } from '../metrics/logger.ts';

export function onShutdownSignal(logger: Logger, drain: () => Promise<void>): void {
  let draining = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (draining) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    draining = true;
    logger.info({ signal }, 'draining: no new requests, finishing in-flight ones');
    drain().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while draining');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
