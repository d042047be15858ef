/**
 * The /get-online-features JSON response, written as bytes straight from the stored rows (see
 * json-bytes.ts for why bytes, not a string): no intermediate document, each view's timestamps
 * formatted once and copied for its other features (and, when all are PRESENT, its whole
 * statuses-timestamps tail with the next column's opening: one copy per feature), the plan's
 * column facts flattened into typed arrays once, names and all-PRESENT/epoch arrays pre-encoded.
 * Produces exactly JSON.stringify(buildFeastResponse(result, full)); a property test
 * holds it to that.
 */
import type { FeatureType } from '../config/types.ts';
import { JsonBytes } from './json-bytes.ts';
import { onDemandStatus, type OnlineFeaturesResult } from './online-features.ts';
import type { ColumnSource, ServingPlan } from './plan.ts';
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

/** Bytes built for an entity count, cached per count for the counts requests use. */
class ByCount {
  private readonly byCount = new Map<number, Buffer>();
  constructor(private readonly build: (n: number) => Buffer) {}
  get(n: number): Buffer {
    let built = this.byCount.get(n);
    if (built === undefined) {
      built = this.build(n);
      if (this.byCount.size < 1024) this.byCount.set(n, built);
    }
    return built;
  }
}
/** `[x,x,...]` of n copies. */
const repeated = (item: string, n: number): Buffer =>
  bytes(n === 0 ? '[]' : `[${`${item},`.repeat(n - 1)}${item}]`);
const allPresent = new ByCount((n) => repeated('"PRESENT"', n));
/** A join-key column's fixed tail: all PRESENT, epoch timestamps, the closing brace. */
const keyColumnTail = new ByCount((n) =>
  Buffer.concat([STATUSES, allPresent.get(n), TIMESTAMPS, repeated(EPOCH, n), Buffer.of(CLOSE_OBJECT)]),
);

/** What the writer needs of a plan, flattened once so the column loop chases no objects. */
interface PlanLayout {
  /** `"a","b",...` of the plan's short and full feature names. */
  readonly shortNames: Buffer;
  readonly fullNames: Buffer;
  /**
   * The response up to its first column's values, when it echoes exactly the plan's join keys
   * (one join key; composite keys echo the request's order): short and full names. One copy for
   * what is otherwise six writes.
   */
  readonly headShort: Buffer;
  readonly headFull: Buffer;
  /** Per column: its view slot when stored, -1 when computed on demand. */
  readonly viewSlots: Int32Array;
  /** Per column: the stored value's index in its row (stored columns). */
  readonly valueIndexes: Int32Array;
  /** Per column: 1 when the type is a number written by JsonBytes#number. */
  readonly numeric: Uint8Array;
  readonly types: readonly FeatureType[];
  /** Per view slot: its TTL in ms (0: none). */
  readonly ttls: Float64Array;
}
const layouts = new WeakMap<ServingPlan, PlanLayout>();

function layoutOf(plan: ServingPlan): PlanLayout {
  let cached = layouts.get(plan);
  if (cached === undefined) {
    const list = (names: readonly string[]): Buffer => bytes(names.map((n) => JSON.stringify(n)).join(','));
    const { columns } = plan;
    const keys = plan.joinKeys.map((k) => `${JSON.stringify(k)},`).join('');
    const head = (names: Buffer): Buffer => Buffer.concat([HEAD, bytes(keys), names, NAMES_END, VALUES]);
    const shortNames = list(plan.names);
    const fullNames = list(plan.fullNames);
    cached = {
      shortNames,
      fullNames,
      headShort: head(shortNames),
      headFull: head(fullNames),
      viewSlots: Int32Array.from(columns, (c) => (c.source.kind === 'stored' ? c.source.viewSlot : -1)),
      valueIndexes: Int32Array.from(columns, (c) => (c.source.kind === 'stored' ? c.source.valueIndex : -1)),
      numeric: Uint8Array.from(columns, (c) =>
        c.type === 'int64' || c.type === 'float32' || c.type === 'float64' ? 1 : 0,
      ),
      types: columns.map((c) => c.type),
      ttls: Float64Array.from(plan.views, (v) => v.view.ttlMs),
    };
    layouts.set(plan, cached);
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
  } finally {
    clearJoints(result.plan.views.length);
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
  const layout = layoutOf(plan);
  const { outputKeys } = result;
  // The head ends with the first key column's `{"values":[` when there is one.
  if (outputKeys === plan.joinKeys && outputKeys.length > 0)
    w.raw(fullNames ? layout.headFull : layout.headShort);
  else {
    w.raw(HEAD);
    for (const key of outputKeys) {
      w.string(key);
      w.comma();
    }
    w.raw(fullNames ? layout.fullNames : layout.shortNames);
    w.raw(NAMES_END);
    if (outputKeys.length > 0) w.raw(VALUES);
  }

  const presentJson = allPresent.get(count);
  const keyTail = keyColumnTail.get(count);
  for (let k = 0; k < outputKeys.length; k++) {
    const column = result.entities[outputKeys[k]!]!;
    if (k > 0) w.raw(NEXT_VALUES);
    for (let i = 0; i < count; i++) {
      if (i > 0) w.comma();
      w.value(column[i]);
    }
    w.raw(keyTail);
  }

  resetViewParts(plan.views.length);
  const { viewSlots, valueIndexes, numeric, types, ttls } = layout;
  const last = viewSlots.length - 1;
  let computedAt: Uint8Array | undefined;
  const codes = scratchCodes(count);
  // True when the previous column's copied joint already wrote this column's `,{"values":[`.
  let opened = false;
  for (let c = 0; c <= last; c++) {
    if (!opened) w.raw(c > 0 || outputKeys.length > 0 ? NEXT_VALUES : VALUES);
    opened = false;
    const slot = viewSlots[c]!;
    if (slot < 0) {
      const { source, type } = plan.columns[c]!;
      if (source.kind === 'onDemand') {
        computedAt = writeOnDemandColumn(w, result, source, type, codes, presentJson, computedAt);
      }
      continue;
    }
    const viewRows = rows[slot]!;
    const valueIndex = valueIndexes[c]!;
    const ttlMs = ttls[slot]!;
    const isNumber = numeric[c] === 1;
    let allOk = true;
    for (let i = 0; i < count; i++) {
      const row = viewRows[i];
      const status = statusOf(row, valueIndex, ttlMs, nowMs);
      codes[i] = status;
      if (status !== PRESENT) allOk = false;
      if (i > 0) w.comma();
      if (status === NOT_FOUND || status === NULL_VALUE) w.raw(NULL);
      else if (isNumber) w.number(row![valueIndex + 1] as number);
      else writeValue(w, types[c]!, row![valueIndex + 1]);
    }
    if (allOk) {
      const joint = joints[slot];
      if (joint !== undefined) {
        // The view's all-PRESENT tail with the next column's opening, written by its first column.
        w.raw(joint);
        if (c < last) opened = true;
        else w.unwrite(NEXT_VALUES.length);
        continue;
      }
    }
    const tailStart = w.position;
    writeStatuses(w, allOk ? presentJson : undefined, codes, count);
    w.raw(TIMESTAMPS);
    writeViewTimestamps(w, slot, viewRows, count);
    w.byte(CLOSE_OBJECT);
    if (allOk && c < last) {
      w.raw(NEXT_VALUES);
      opened = true;
      joints[slot] = w.view(tailStart, w.position);
    }
  }
  w.raw(TAIL);
}

function writeOnDemandColumn(
  w: JsonBytes,
  result: OnlineFeaturesResult,
  source: Extract<ColumnSource, { kind: 'onDemand' }>,
  type: FeatureType,
  codes: Uint8Array,
  presentJson: Buffer,
  computedAt: Uint8Array | undefined,
): Uint8Array {
  const { count, nowMs } = result;
  const computed = result.onDemand[source.odfvSlot]!;
  const output = computed.columns[source.outputIndex]!;
  let allOk = true;
  for (let i = 0; i < count; i++) {
    const status = computed.statuses[i] as StatusCode;
    const v = output[i]!;
    const shown = onDemandStatus(status, type, v);
    codes[i] = shown;
    if (shown !== PRESENT) allOk = false;
    if (i > 0) w.comma();
    if (shown === NOT_FOUND || shown === NULL_VALUE) w.raw(NULL);
    else w.number(onDemandValue(type, v));
  }
  writeStatuses(w, allOk ? presentJson : undefined, codes, count);
  w.raw(TIMESTAMPS);
  if (computedAt !== undefined) w.raw(computedAt);
  else {
    const start = w.position;
    w.byte(OPEN);
    for (let i = 0; i < count; i++) {
      if (i > 0) w.comma();
      w.timestamp(nowMs);
    }
    w.byte(CLOSE);
    computedAt = w.view(start, w.position);
  }
  w.byte(CLOSE_OBJECT);
  return computedAt;
}

/**
 * Per view slot, parts of this response written once and repeated for the view's other features,
 * passed to raw() again as views of the answer. `timestamps`: where the view's event times (its
 * features share them) were written, [start, end), start -1 while not yet; the view is made only
 * when they repeat, which an all-PRESENT view never needs. `joints`: the all-PRESENT "joint", i.e.
 * the statuses, timestamps and the next column's `,{"values":[`, one copy per feature instead of
 * five writes. Views and TypedArray#set, a builtin V8 inlines the call to, not copies by offset:
 * copyWithin is a C++ builtin, and in the running server each call cost ~25 ns of entry and exit
 * (perf), 0.4 µs of a one-entity answer. The joint slots stay between answers (emptying an array
 * is a runtime call); each is cleared after its answer, so a huge answer's slab is not kept alive
 * through them.
 */
let timestamps = new Int32Array(64);
const joints: (Uint8Array | undefined)[] = [];
function resetViewParts(views: number): void {
  if (timestamps.length < 2 * views) timestamps = new Int32Array(2 * views);
  // Loops, not fill(): for the one or two views of a plan, a builtin call costs more than the work.
  for (let v = 0; v < views; v++) timestamps[2 * v] = -1;
  while (joints.length < views) joints.push(undefined);
}
function clearJoints(views: number): void {
  for (let v = 0; v < views; v++) joints[v] = undefined;
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
  slot: number,
  viewRows: OnlineFeaturesResult['rows'][number],
  count: number,
): void {
  const at = 2 * slot;
  if (timestamps[at]! >= 0) {
    w.raw(w.view(timestamps[at]!, timestamps[at + 1]!));
    return;
  }
  timestamps[at] = w.position;
  w.byte(OPEN);
  for (let i = 0; i < count; i++) {
    if (i > 0) w.comma();
    const row = viewRows[i];
    if (row === undefined) w.ascii(EPOCH);
    else w.timestamp(row[0] as number);
  }
  w.byte(CLOSE);
  timestamps[at + 1] = w.position;
}

/** Status codes of one column, in a buffer reused across columns and requests (no allocation). */
let scratch = new Uint8Array(1024);
function scratchCodes(count: number): Uint8Array {
  if (scratch.length < count) scratch = new Uint8Array(Math.max(count, scratch.length * 2));
  return scratch;
}
