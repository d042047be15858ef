import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { MaterializeSummary, ProgressEvent } from './materialize.ts';
import { createProgressReporter, formatSummary } from './progress.ts';

function summary(overrides: Partial<MaterializeSummary> = {}): MaterializeSummary {
  return {
    view: 'user_stats',
    rowsRead: 100_000,
    written: 100_000,
    skippedStale: 0,
    skippedOld: 0,
    bad: 0,
    badRows: [],
    warnings: [],
    maxEventTsMs: 0,
    elapsedMs: 1900,
    rowsPerSecond: 52_631,
    ...overrides,
  };
}

/** A stream the reporter can write to, with the output collected. */
function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; output: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 120 });
  let text = '';
  (stream as unknown as PassThrough).on('data', (d: Buffer) => (text += d.toString()));
  return { stream, output: () => text };
}

const events = (s: MaterializeSummary): ProgressEvent[] => [
  { type: 'start', view: s.view, totalRows: undefined },
  {
    type: 'progress',
    view: s.view,
    rowsRead: 50_000,
    written: 50_000,
    bad: 0,
    totalRows: undefined,
    fraction: 0.5,
    elapsedMs: 900,
  },
  { type: 'done', view: s.view, summary: s },
];

describe('formatSummary', () => {
  it('prints one line per view', () => {
    expect(formatSummary(summary())).toEqual([
      'user_stats: 100,000 rows → 100,000 written, 0 stale, 0 bad in 1.9 s (52,631 rows/s)',
    ]);
  });

  it('says "1 row", not "1 rows"', () => {
    expect(formatSummary(summary({ rowsRead: 1, written: 1, rowsPerSecond: 80 }))[0]).toBe(
      'user_stats: 1 row → 1 written, 0 stale, 0 bad in 1.9 s (80 rows/s)',
    );
  });

  it('adds old rows, warnings, at most 20 bad rows and how many more', () => {
    const badRows = Array.from({ length: 20 }, (_, i) => ({
      line: i + 2,
      reason: `column "x": expected int64, got string "${i}"`,
    }));
    const lines = formatSummary(
      summary({
        skippedOld: 5,
        bad: 25,
        badRows,
        warnings: ['column "y" not in the source: stored as null'],
      }),
    );
    expect(lines[0]).toBe(
      'user_stats: 100,000 rows → 100,000 written, 0 stale, 5 older than --since, 25 bad in 1.9 s (52,631 rows/s)',
    );
    expect(lines[1]).toBe('  warning: column "y" not in the source: stored as null');
    expect(lines[2]).toBe('  line 2: column "x": expected int64, got string "0"');
    expect(lines).toHaveLength(23);
    expect(lines[22]).toBe('  … and 5 more');
  });
});

describe('createProgressReporter', () => {
  it('prints only the summary when the stream is not a terminal', () => {
    const { stream, output } = fakeStream(false);
    const reporter = createProgressReporter(stream);
    for (const e of events(summary())) reporter.onProgress(e);
    reporter.stop();
    expect(output()).toBe(
      'user_stats: 100,000 rows → 100,000 written, 0 stale, 0 bad in 1.9 s (52,631 rows/s)\n',
    );
  });

  it('draws a bar on a terminal, then the summary', () => {
    const { stream, output } = fakeStream(true);
    const reporter = createProgressReporter(stream);
    const [start, progress, done] = events(summary());
    reporter.onProgress(start!);
    reporter.onProgress(progress!);
    expect(output()).toContain('user_stats [');
    reporter.onProgress(done!);
    reporter.stop();
    expect(output()).toContain('100,000 rows');
    expect(output()).toContain('user_stats: 100,000 rows → 100,000 written');
  });
});
