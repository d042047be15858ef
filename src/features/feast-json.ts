/**
 * The /get-online-features JSON response, written as bytes straight from the stored rows (see
 * json-bytes.ts for why bytes, not a string): no intermediate document, each view's timestamps
 * formatted once and copied for its other features, names and all-PRESENT/epoch arrays
 * pre-encoded. Produces exactly JSON.stringify(buildFeastResponse(result, full)); a property test
 * holds it to that.
 */
import type { FeatureType } from '../config/types.ts';
import { JsonBytes } from './json-bytes.ts';
import type { OnlineFeaturesResult } from './online-features.ts';
import type { ServingPlan } from './plan.ts';
import { NOT_FOUND, NULL_VALUE, PRESENT, statusOf, type StatusCode } from './status.ts';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

const EPOCH = '"1970-01-01T00:00:00Z"';
const STATUS_JSON = ['"PRESENT"', '"NOT_FOUND"', '"NULL_VALUE"', '"OUTSIDE_MAX_AGE"'].map(bytes);
const HEAD = bytes('{"metadata":{"feature_names":[');
const NAMES_END = bytes(']},"results":[');
const VALUES = bytes('{"values":[');
const NEXT_VALUES = bytes(',{"values":[');
const STATUSES = bytes('],"statuses":');
const TIMESTAMPS = bytes(',"event_timestamps":');
const TAIL = bytes(']}');
const NULL = bytes('null');
const TRUE = bytes('true');
const FALSE = bytes('false');
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const CLOSE_OBJECT = 0x7d; // }

/** `[x,x,...]` of n copies as bytes, cached per n for the sizes requests use. */
class RepeatCache {
  private readonly byCount = new Map<number, Buffer>();
  constructor(private readonly item: string) {}
  get(n: number): Buffer {
    let json = this.byCount.get(n);
    if (json === undefined) {
      json = bytes(n === 0 ? '[]' : `[${`${this.item},`.repeat(n - 1)}${this.item}]`);
      if (this.byCount.size < 1024) this.byCount.set(n, json);
    }
    return json;
  }
}
const allPresent = new RepeatCache('"PRESENT"');
const allEpoch = new RepeatCache(EPOCH);

interface PlanJson {
  /** `"a","b",...` of the plan's short and full feature names. */
  readonly shortNames: Buffer;
  readonly fullNames: Buffer;
}
const planJson = new WeakMap<ServingPlan, PlanJson>();

function namesOf(plan: ServingPlan): PlanJson {
  let cached = planJson.get(plan);
  if (cached === undefined) {
    const list = (names: readonly string[]): Buffer => bytes(names.map((n) => JSON.stringify(n)).join(','));
    cached = { shortNames: list(plan.names), fullNames: list(plan.fullNames) };
    planJson.set(plan, cached);
  }
  return cached;
}

function onDemandValue(type: FeatureType, value: number): number {
  if (type === 'float32') return Math.fround(value);
  if (type === 'int64') return Math.round(value);
  return value;
}

/** One writer for the process: a response is written synchronously from start to end. */
const out = new JsonBytes();

/** JSON bytes of the Feast response for `result`. */
export function feastJson(result: OnlineFeaturesResult, fullNames: boolean): Buffer {
  try {
    writeResponse(out, result, fullNames);
    return out.take();
  } catch (err) {
    out.reset();
    throw err;
  }
}

function writeValue(w: JsonBytes, type: FeatureType, value: unknown): void {
  switch (type) {
    case 'string':
      w.string(value as string);
      return;
    case 'bool':
      w.raw(value ? TRUE : FALSE);
      return;
    case 'float32[]': {
      const list = value as readonly number[];
      w.byte(OPEN);
      for (let j = 0; j < list.length; j++) {
        if (j > 0) w.comma();
        w.number(list[j]!);
      }
      w.byte(CLOSE);
      return;
    }
    default:
      w.number(value as number);
  }
}

function writeResponse(w: JsonBytes, result: OnlineFeaturesResult, fullNames: boolean): void {
  const { plan, count, rows, nowMs } = result;
  const names = namesOf(plan);
  w.raw(HEAD);
  for (const key of result.outputKeys) {
    w.string(key);
    w.comma();
  }
  w.raw(fullNames ? names.fullNames : names.shortNames);
  w.raw(NAMES_END);

  const presentJson = allPresent.get(count);
  const epochJson = allEpoch.get(count);
  for (let k = 0; k < result.outputKeys.length; k++) {
    const column = result.entities[result.outputKeys[k]!]!;
    if (k > 0) w.comma();
    w.raw(VALUES);
    for (let i = 0; i < count; i++) {
      if (i > 0) w.comma();
      w.value(column[i]);
    }
    w.raw(STATUSES);
    w.raw(presentJson);
    w.raw(TIMESTAMPS);
    w.raw(epochJson);
    w.byte(CLOSE_OBJECT);
  }

  resetRanges(plan.views.length);
  let computedAt: [number, number] | undefined;
  const codes = scratchCodes(count);
  for (let c = 0; c < plan.columns.length; c++) {
    const column = plan.columns[c]!;
    const source = column.source;
    w.raw(c > 0 || result.outputKeys.length > 0 ? NEXT_VALUES : VALUES);
    let allOk = true;
    if (source.kind === 'stored') {
      const view = plan.views[source.viewSlot]!.view;
      const viewRows = rows[source.viewSlot]!;
      const valueIndex = source.valueIndex;
      const type = column.type;
      const numeric = type === 'int64' || type === 'float32' || type === 'float64';
      for (let i = 0; i < count; i++) {
        const row = viewRows[i];
        const status = statusOf(row, valueIndex, view.ttlMs, nowMs);
        codes[i] = status;
        if (status !== PRESENT) allOk = false;
        if (i > 0) w.comma();
        if (status === NOT_FOUND || status === NULL_VALUE) w.raw(NULL);
        else if (numeric) w.number(row![valueIndex + 1] as number);
        else writeValue(w, type, row![valueIndex + 1]);
      }
      writeStoredTail(w, source.viewSlot, allOk ? presentJson : undefined, codes, count, viewRows);
    } else {
      const computed = result.onDemand[source.odfvSlot]!;
      const output = computed.columns[source.outputIndex]!;
      for (let i = 0; i < count; i++) {
        const status = computed.statuses[i] as StatusCode;
        const v = output[i]!;
        const shown: StatusCode = status === NOT_FOUND ? NOT_FOUND : Number.isFinite(v) ? status : NULL_VALUE;
        codes[i] = shown;
        if (shown !== PRESENT) allOk = false;
        if (i > 0) w.comma();
        if (shown === NOT_FOUND || shown === NULL_VALUE) w.raw(NULL);
        else w.number(onDemandValue(column.type, v));
      }
      writeStatuses(w, allOk ? presentJson : undefined, codes, count);
      w.raw(TIMESTAMPS);
      if (computedAt !== undefined) w.copyWithin(computedAt[0], computedAt[1]);
      else {
        const start = w.position;
        w.byte(OPEN);
        for (let i = 0; i < count; i++) {
          if (i > 0) w.comma();
          w.timestamp(nowMs);
        }
        w.byte(CLOSE);
        computedAt = [start, w.position];
      }
      w.byte(CLOSE_OBJECT);
    }
  }
  w.raw(TAIL);
}

/**
 * Per view slot, where its parts were first written in this response, to copy them for its other
 * features: [timestamps start, end, all-PRESENT tail start, end]; -1 while not yet written.
 */
let ranges = new Int32Array(64);
function resetRanges(views: number): void {
  if (ranges.length < 4 * views) ranges = new Int32Array(4 * views);
  ranges.fill(-1, 0, 4 * views);
}

/**
 * Writes `],"statuses":[...],"event_timestamps":[...]}` after a stored column's values. A view's
 * features share their timestamps, and when all are PRESENT the whole tail too: the first column
 * writes it, the others copy it (one copy per feature instead of five writes).
 */
function writeStoredTail(
  w: JsonBytes,
  slot: number,
  allPresentJson: Buffer | undefined,
  codes: Uint8Array,
  count: number,
  viewRows: OnlineFeaturesResult['rows'][number],
): void {
  const at = 4 * slot;
  if (allPresentJson !== undefined && ranges[at + 2]! >= 0) {
    w.copyWithin(ranges[at + 2]!, ranges[at + 3]!);
    return;
  }
  const tailStart = w.position;
  writeStatuses(w, allPresentJson, codes, count);
  w.raw(TIMESTAMPS);
  if (ranges[at]! >= 0) w.copyWithin(ranges[at]!, ranges[at + 1]!);
  else {
    ranges[at] = w.position;
    writeViewTimestamps(w, viewRows, count);
    ranges[at + 1] = w.position;
  }
  w.byte(CLOSE_OBJECT);
  if (allPresentJson !== undefined) {
    ranges[at + 2] = tailStart;
    ranges[at + 3] = w.position;
  }
}

function writeStatuses(
  w: JsonBytes,
  allPresentJson: Buffer | undefined,
  codes: Uint8Array,
  count: number,
): void {
  w.raw(STATUSES);
  if (allPresentJson !== undefined) {
    w.raw(allPresentJson);
    return;
  }
  w.byte(OPEN);
  for (let i = 0; i < count; i++) {
    if (i > 0) w.comma();
    w.raw(STATUS_JSON[codes[i]!]!);
  }
  w.byte(CLOSE);
}

function writeViewTimestamps(
  w: JsonBytes,
  viewRows: OnlineFeaturesResult['rows'][number],
  count: number,
): void {
  w.byte(OPEN);
  for (let i = 0; i < count; i++) {
    if (i > 0) w.comma();
    const row = viewRows[i];
    if (row === undefined) w.ascii(EPOCH);
    else w.timestamp(row[0] as number);
  }
  w.byte(CLOSE);
}

/** Status codes of one column, in a buffer reused across columns and requests (no allocation). */
let scratch = new Uint8Array(1024);
function scratchCodes(count: number): Uint8Array {
  if (scratch.length < count) scratch = new Uint8Array(Math.max(count, scratch.length * 2));
  return scratch;
}
