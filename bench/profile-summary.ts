/**
 * Summarises .cpuprofile files (from `node --cpu-prof`, or a BENCH_PROFILE=1 run).
 * Usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]
 */
import { readProfile, renderProfileSummary, summariseProfile } from './lib/cpuprofile.ts';

const [file, top] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
process.stdout.write(
  `${renderProfileSummary(summariseProfile(await readProfile(file)), { top: top === undefined ? 25 : Number(top) })}\n`,
);
