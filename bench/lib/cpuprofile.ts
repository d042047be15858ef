/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): where the server's CPU time goes, by
 * function (self and inclusive time) and by area (Quiver's own modules, each npm package, Node's
 * internals, GC). Sample i lasts until sample i+1 (timeDeltas[i+1]), as Chrome DevTools counts it.
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionTime {
  readonly name: string;
  readonly location: string;
  readonly area: string;
  readonly selfUs: number;
  readonly totalUs: number;
}

export interface AreaTime {
  readonly area: string;
  readonly selfUs: number;
}

export interface ProfileSummary {
  readonly wallUs: number;
  /** Sampled time not spent idle: the base of every percentage. */
  readonly busyUs: number;
  readonly idleUs: number;
  readonly functions: readonly FunctionTime[];
  readonly areas: readonly AreaTime[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Groups a script URL into an area: quiver's src/<dir>, an npm package, node internals, ... */
export function areaOf(frame: Pick<CallFrame, 'functionName' | 'url'>): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const url = frame.url;
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  // Greedy `.*`: the LAST src/ (or bench/, examples/) of the path is the repository's.
  const src = /^.*\/(src|bench|examples)\/(.*)$/.exec(url);
  if (src) {
    const rest = src[2]!;
    return rest.includes('/') ? `${src[1]}/${rest.slice(0, rest.indexOf('/'))}` : `${src[1]}/`;
  }
  return url;
}

function shortLocation(frame: CallFrame): string {
  if (frame.url === '') return '';
  const url = frame.url.replace(/^file:\/\//, '');
  const trimmed = url.includes('/node_modules/')
    ? url.slice(url.lastIndexOf('/node_modules/') + '/node_modules/'.length)
    : url.replace(/^.*\/(src|bench|examples)\//, '$1/');
  // tsx compiles each TypeScript file to ONE line (minifyWhitespace), so there the column is what
  // tells functions apart.
  return frame.lineNumber === 0
    ? `${trimmed}:1:${frame.columnNumber + 1}`
    : `${trimmed}:${frame.lineNumber + 1}`;
}

/** A time window in the profile's clock (µs of CLOCK_MONOTONIC, as `process.hrtime.bigint() / 1000n`). */
export interface ProfileWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

/**
 * Summarises the samples inside `window` (default: all). V8 stamps samples with the same monotonic
 * clock as `process.hrtime`, so a window taken in the parent process around a load run cuts the
 * server's start-up (module loading, compilation) out of the figures.
 */
export function summariseProfile(profile: CpuProfile, window?: ProfileWindow): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const keyOf = (node: ProfileNode): string =>
    `${node.callFrame.functionName}\u0000${node.callFrame.url}\u0000${node.callFrame.lineNumber}:${node.callFrame.columnNumber}`;

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const frames = new Map<string, CallFrame>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let sampledUs = 0;
  const { samples, timeDeltas } = profile;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i] ?? 0;
    const duration = timeDeltas[i + 1] ?? 0;
    if (duration <= 0) continue;
    if (window !== undefined && (at < window.fromUs || at >= window.toUs)) continue;
    const node = byId.get(samples[i]!);
    if (node === undefined) continue;
    sampledUs += duration;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += duration;
      continue;
    }
    const key = keyOf(node);
    frames.set(key, node.callFrame);
    self.set(key, (self.get(key) ?? 0) + duration);
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + duration);
    // Inclusive time: every distinct function on the stack (recursion counted once).
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      const k = keyOf(n);
      if (n.callFrame.functionName === '(root)' || seen.has(k)) continue;
      seen.add(k);
      frames.set(k, n.callFrame);
      total.set(k, (total.get(k) ?? 0) + duration);
    }
  }
  const functions: FunctionTime[] = [...frames.entries()].map(([key, frame]) => ({
    name: frame.functionName || '(anonymous)',
    location: shortLocation(frame),
    area: areaOf(frame),
    selfUs: self.get(key) ?? 0,
    totalUs: total.get(key) ?? 0,
  }));
  functions.sort((a, b) => b.selfUs - a.selfUs);
  return {
    wallUs: window === undefined ? profile.endTime - profile.startTime : window.toUs - window.fromUs,
    busyUs: sampledUs - idleUs,
    idleUs,
    functions,
    areas: [...areas.entries()]
      .map(([area, selfUs]) => ({ area, selfUs }))
      .sort((a, b) => b.selfUs - a.selfUs),
  };
}

export async function readProfile(file: string): Promise<CpuProfile> {
  return JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
}

const pct = (part: number, whole: number): string =>
  whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';

export interface RenderOptions {
  readonly top?: number;
  /** Requests served in the window: adds a µs-per-request column. */
  readonly requests?: number;
}

/** Markdown: time by area, top functions by self time, and by inclusive time. */
export function renderProfileSummary(summary: ProfileSummary, options: RenderOptions = {}): string {
  const top = options.top ?? 25;
  const requests = options.requests;
  const perReq = (us: number): string => (requests ? ` ${(us / requests).toFixed(2)} |` : '');
  const perReqHead = requests ? ' µs/req |' : '';
  const perReqRule = requests ? '---:|' : '';
  const lines: string[] = [];
  lines.push(
    `Busy (non-idle) main-thread time sampled: ${(summary.busyUs / 1e6).toFixed(2)} s of ${(summary.wallUs / 1e6).toFixed(2)} s wall` +
      (requests
        ? ` for ${requests.toLocaleString('en-US')} requests (${(summary.busyUs / requests).toFixed(1)} µs/req)`
        : '') +
      '; percentages are of busy time.',
    '',
    `| area | self |${perReqHead}`,
    `|---|---:|${perReqRule}`,
  );
  for (const a of summary.areas.slice(0, 15))
    lines.push(`| ${a.area} | ${pct(a.selfUs, summary.busyUs)} |${perReq(a.selfUs)}`);
  lines.push(
    '',
    `Top ${top} functions by self time:`,
    '',
    `| self | total |${perReqHead} function | location |`,
    `|---:|---:|${perReqRule}---|---|`,
  );
  for (const f of summary.functions.slice(0, top)) {
    lines.push(
      `| ${pct(f.selfUs, summary.busyUs)} | ${pct(f.totalUs, summary.busyUs)} |${perReq(f.selfUs)} ${f.name} | ${f.location || f.area} |`,
    );
  }
  const inclusive = summary.functions
    .filter(
      (f) => !f.location.startsWith('node:') && f.area !== '(program)' && f.area !== '(garbage collector)',
    )
    .sort((a, b) => b.totalUs - a.totalUs)
    .slice(0, top);
  lines.push(
    '',
    `Top ${top} functions by inclusive time (excluding node internals):`,
    '',
    `| total | self |${perReqHead} function | location |`,
    `|---:|---:|${perReqRule}---|---|`,
  );
  for (const f of inclusive) {
    lines.push(
      `| ${pct(f.totalUs, summary.busyUs)} | ${pct(f.selfUs, summary.busyUs)} |${perReq(f.totalUs)} ${f.name} | ${f.location || f.area} |`,
    );
  }
  return lines.join('\n');
}
