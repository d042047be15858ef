/**
 * Terminal progress for `quiver materialize` and `quiver push <file>`. On a TTY each view gets a
 * cli-progress bar with rows, rows/s and ETA (from the source's row count, or estimated from the
 * fraction of bytes read); otherwise nothing is drawn and each view prints one summary line, so logs
 * and CI output stay clean. Either way the summary and the first bad rows follow each view.
 *
 * @example
 *   const reporter = createProgressReporter(process.stderr);
 *   try {
 *     await materialize({ registry, store, onProgress: reporter.onProgress });
 *   } finally {
 *     reporter.stop();
 *   }
 */
import cliProgress from 'cli-progress';
import type { MaterializeSummary, ProgressEvent } from './materialize.ts';

/** Bar resolution: the bar tracks a fraction, since the total row count is not always known. */
const BAR_STEPS = 1000;

export interface ProgressReporter {
  readonly onProgress: (event: ProgressEvent) => void;
  /** Stops a bar still running (after an error or abort) so the cursor and line are restored. */
  stop(): void;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The report of one view: a summary line, warnings, then at most 20 bad rows. */
export function formatSummary(s: MaterializeSummary): string[] {
  const old = s.skippedOld > 0 ? `, ${count(s.skippedOld)} older than --since` : '';
  const lines = [
    `${s.view}: ${count(s.rowsRead)} ${s.rowsRead === 1 ? 'row' : 'rows'} → ${count(s.written)} written, ${count(s.skippedStale)} stale${old}, ` +
      `${count(s.bad)} bad in ${duration(s.elapsedMs)} (${count(s.rowsPerSecond)} rows/s)`,
  ];
  for (const warning of s.warnings) lines.push(`  warning: ${warning}`);
  for (const b of s.badRows) lines.push(`  line ${b.line}: ${b.reason}`);
  if (s.bad > s.badRows.length) lines.push(`  … and ${count(s.bad - s.badRows.length)} more`);
  return lines;
}

function barPayload(event: Extract<ProgressEvent, { type: 'progress' }>): { value: number; payload: object } {
  const { rowsRead, totalRows, elapsedMs } = event;
  const fraction = totalRows !== undefined ? (totalRows === 0 ? 1 : rowsRead / totalRows) : event.fraction;
  let of = '';
  if (totalRows !== undefined) of = ` / ${count(totalRows)}`;
  else if (fraction !== undefined && fraction > 0) of = ` / ~${count(rowsRead / fraction)}`;
  const rate = elapsedMs > 0 ? (rowsRead * 1000) / elapsedMs : 0;
  const eta =
    fraction !== undefined && fraction > 0 && fraction < 1
      ? duration((elapsedMs * (1 - fraction)) / fraction)
      : '–';
  return {
    value: Math.round((fraction ?? 0) * BAR_STEPS),
    payload: { rows: count(rowsRead), of, rate: count(rate), remaining: eta, bad: count(event.bad) },
  };
}

export function createProgressReporter(stream: NodeJS.WriteStream): ProgressReporter {
  const write = (lines: string[]): void => {
    stream.write(lines.join('\n') + '\n');
  };
  if (!stream.isTTY) {
    return {
      onProgress: (e) => (e.type === 'done' ? write(formatSummary(e.summary)) : undefined),
      stop: () => {},
    };
  }

  let bar: cliProgress.SingleBar | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onProgress = (event: ProgressEvent): void => {
    switch (event.type) {
      case 'start':
        stop();
        bar = new cliProgress.SingleBar({
          stream,
          format: `${event.view} [{bar}] {rows}{of} rows | {rate} rows/s | {bad} bad | ETA {remaining}`,
          hideCursor: true,
          fps: 5,
        });
        bar.start(BAR_STEPS, 0, { rows: '0', of: '', rate: '0', remaining: '–', bad: '0' });
        return;
      case 'progress': {
        const { value, payload } = barPayload(event);
        bar?.update(value, payload);
        return;
      }
      case 'done':
        bar?.update(BAR_STEPS);
        stop();
        write(formatSummary(event.summary));
        return;
    }
  };
  return { onProgress, stop };
}
