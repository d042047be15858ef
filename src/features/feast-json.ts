/**
 * The /get-online-features JSON response, written straight from the stored rows: no intermediate
 * document, each view's timestamps encoded once (not once per feature), all-PRESENT status arrays
 * and metadata cached. Produces exactly JSON.stringify(buildFeastResponse(result, full)); a
 * property test holds it to that.
 */
import type { FeatureType } from '../config/types.ts';
import type { OnlineFeaturesResult } from './online-features.ts';
import type { ServingPlan } from './plan.ts';
import { NOT_FOUND, NULL_VALUE, PRESENT, statusOf, type StatusCode } from './status.ts';
import { formatTimestamp } from './timestamp.ts';

const EPOCH = '"1970-01-01T00:00:00Z"';
const STATUS_JSON = ['"PRESENT"', '"NOT_FOUND"', '"NULL_VALUE"', '"OUTSIDE_MAX_AGE"'] as const;
/** Strings made only of these characters need no escaping in JSON. */
const PLAIN = /^[\w .:@/+-]*$/;

/** `[x,x,...]` of n copies, cached per (item, n) for the sizes requests use. */
class RepeatCache {
  private readonly byCount = new Map<number, string>();
  constructor(private readonly item: string) {}
  get(n: number): string {
    let json = this.byCount.get(n);
    if (json === undefined) {
      json = n === 0 ? '[]' : `[${`${this.item},`.repeat(n - 1)}${this.item}]`;
      if (this.byCount.size < 1024) this.byCount.set(n, json);
    }
    return json;
  }
}
const allPresent = new RepeatCache('"PRESENT"');
const allEpoch = new RepeatCache(EPOCH);

interface PlanJson {
  readonly shortNames: string;
  readonly fullNames: string;
}
const planJson = new WeakMap<ServingPlan, PlanJson>();

function namesOf(plan: ServingPlan): PlanJson {
  let cached = planJson.get(plan);
  if (cached === undefined) {
    cached = {
      shortNames: plan.names.map((n) => JSON.stringify(n)).join(','),
      fullNames: plan.fullNames.map((n) => JSON.stringify(n)).join(','),
    };
    planJson.set(plan, cached);
  }
  return cached;
}

export function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

function encodeValue(type: FeatureType, value: unknown): string {
  switch (type) {
    case 'string':
      return quote(value as string);
    case 'bool':
      return value ? 'true' : 'false';
    case 'float32[]':
      return `[${(value as number[]).join(',')}]`;
    default:
      return `${value as number}`;
  }
}

function encodeKey(value: unknown): string {
  return typeof value === 'string' ? quote(value) : (JSON.stringify(value) ?? 'null');
}

function onDemandValue(type: FeatureType, value: number): number {
  if (type === 'float32') return Math.fround(value);
  if (type === 'int64') return Math.round(value);
  return value;
}

/** JSON text of the Feast response for `result`. */
export function feastJson(result: OnlineFeaturesResult, fullNames: boolean): string {
  const { plan, count, rows, nowMs } = result;
  const names = namesOf(plan);
  let keyNames = '';
  for (const key of result.outputKeys) keyNames += `${JSON.stringify(key)},`;
  let out = `{"metadata":{"feature_names":[${keyNames}${fullNames ? names.fullNames : names.shortNames}]},"results":[`;

  const presentJson = allPresent.get(count);
  const epochJson = allEpoch.get(count);
  for (let k = 0; k < result.outputKeys.length; k++) {
    const column = result.entities[result.outputKeys[k]!]!;
    let values = '[';
    for (let i = 0; i < count; i++) values += (i === 0 ? '' : ',') + encodeKey(column[i]);
    out += `${k === 0 ? '' : ','}{"values":${values}],"statuses":${presentJson},"event_timestamps":${epochJson}}`;
  }

  const timestampsJson: (string | undefined)[] = new Array(plan.views.length);
  let computedAt: string | undefined;
  for (let c = 0; c < plan.columns.length; c++) {
    const column = plan.columns[c]!;
    const source = column.source;
    let values = '[';
    let allOk = true;
    let timestamps: string;
    const codes = scratchCodes(count);
    if (source.kind === 'stored') {
      const view = plan.views[source.viewSlot]!.view;
      const viewRows = rows[source.viewSlot]!;
      const valueIndex = source.valueIndex;
      const numeric = column.type === 'int64' || column.type === 'float32' || column.type === 'float64';
      for (let i = 0; i < count; i++) {
        const row = viewRows[i];
        const status = statusOf(row, valueIndex, view.ttlMs, nowMs);
        codes[i] = status;
        if (status !== PRESENT) allOk = false;
        const sep = i === 0 ? '' : ',';
        if (status === NOT_FOUND || status === NULL_VALUE) values += `${sep}null`;
        else if (numeric) values += sep + (row![valueIndex + 1] as number);
        else values += sep + encodeValue(column.type, row![valueIndex + 1]);
      }
      timestamps = timestampsJson[source.viewSlot] ??= viewTimestampsJson(viewRows, count);
    } else {
      const computed = result.onDemand[source.odfvSlot]!;
      const output = computed.columns[source.outputIndex]!;
      for (let i = 0; i < count; i++) {
        const status = computed.statuses[i] as StatusCode;
        const v = output[i]!;
        const shown: StatusCode = status === NOT_FOUND ? NOT_FOUND : Number.isFinite(v) ? status : NULL_VALUE;
        codes[i] = shown;
        if (shown !== PRESENT) allOk = false;
        const sep = i === 0 ? '' : ',';
        values +=
          sep + (shown === NOT_FOUND || shown === NULL_VALUE ? 'null' : `${onDemandValue(column.type, v)}`);
      }
      computedAt ??= `"${formatTimestamp(nowMs)}"`;
      timestamps = new RepeatCache(computedAt).get(count);
    }
    const statuses = allOk ? presentJson : statusesJson(codes, count);
    const separator = c === 0 && result.outputKeys.length === 0 ? '' : ',';
    out += `${separator}{"values":${values}],"statuses":${statuses},"event_timestamps":${timestamps}}`;
  }
  return `${out}]}`;
}

/** Status codes of one column, in a buffer reused across columns and requests (no allocation). */
let scratch = new Uint8Array(1024);
function scratchCodes(count: number): Uint8Array {
  if (scratch.length < count) scratch = new Uint8Array(Math.max(count, scratch.length * 2));
  return scratch;
}

function statusesJson(codes: Uint8Array, count: number): string {
  let json = '[';
  for (let i = 0; i < count; i++) json += (i === 0 ? '' : ',') + STATUS_JSON[codes[i] as StatusCode];
  return `${json}]`;
}

function viewTimestampsJson(viewRows: OnlineFeaturesResult['rows'][number], count: number): string {
  let json = '[';
  let lastMs = NaN;
  let last = '';
  for (let i = 0; i < count; i++) {
    const row = viewRows[i];
    if (row === undefined) json += (i === 0 ? '' : ',') + EPOCH;
    else {
      const ms = row[0] as number;
      if (ms !== lastMs) {
        lastMs = ms;
        last = `"${formatTimestamp(ms)}"`;
      }
      json += (i === 0 ? '' : ',') + last;
    }
  }
  return `${json}]`;
}
