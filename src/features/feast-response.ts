/**
 * The Feast-compatible response of /get-online-features, column-oriented: one `results` entry per
 * name (join keys first, then features), one value per entity. Built straight from the stored rows;
 * JSON is emitted by concatenating natively stringified columns around pre-encoded metadata.
 */
import type { FeatureType } from '../config/types.ts';
import { onDemandStatus, type OnlineFeaturesResult } from './online-features.ts';
import { formatTimestamp } from './timestamp.ts';
import {
  NOT_FOUND,
  NULL_VALUE,
  STATUS_NAMES,
  statusOf,
  type FeatureStatus,
  type StatusCode,
} from './status.ts';

export const EPOCH_TIMESTAMP = '1970-01-01T00:00:00Z';

export interface FeastColumn {
  values: unknown[];
  statuses: FeatureStatus[];
  event_timestamps: string[];
}

export interface FeastResponse {
  metadata: { feature_names: string[] };
  results: FeastColumn[];
}

function outputValue(type: FeatureType, value: number): number {
  if (type === 'float32') return Math.fround(value);
  if (type === 'int64') return Math.round(value);
  return value;
}

/** Builds the response document; `fullNames` gives "view__feature" names (full_feature_names). */
export function buildFeastResponse(result: OnlineFeaturesResult, fullNames: boolean): FeastResponse {
  const { plan, count, rows, nowMs } = result;
  const names: string[] = [...result.outputKeys];
  const results: FeastColumn[] = [];

  for (const key of result.outputKeys) {
    results.push({
      values: result.entities[key]!.slice(0, count),
      statuses: new Array<FeatureStatus>(count).fill('PRESENT'),
      event_timestamps: new Array<string>(count).fill(EPOCH_TIMESTAMP),
    });
  }

  // Event timestamps are per (view, entity): format each once, whatever the number of features.
  const timestampsByView: (string[] | undefined)[] = new Array(plan.views.length);
  const viewTimestamps = (slot: number): string[] => {
    let formatted = timestampsByView[slot];
    if (formatted === undefined) {
      const viewRows = rows[slot]!;
      formatted = new Array<string>(count);
      for (let i = 0; i < count; i++) {
        const row = viewRows[i];
        formatted[i] = row === undefined ? EPOCH_TIMESTAMP : formatTimestamp(row[0] as number);
      }
      timestampsByView[slot] = formatted;
    }
    return formatted;
  };

  const columnNames = fullNames ? plan.fullNames : plan.names;
  for (let c = 0; c < plan.columns.length; c++) {
    const column = plan.columns[c]!;
    names.push(columnNames[c]!);
    const values = new Array<unknown>(count);
    const statuses = new Array<FeatureStatus>(count);
    const source = column.source;
    if (source.kind === 'stored') {
      const view = plan.views[source.viewSlot]!.view;
      const viewRows = rows[source.viewSlot]!;
      const valueIndex = source.valueIndex;
      for (let i = 0; i < count; i++) {
        const row = viewRows[i];
        const status = statusOf(row, valueIndex, view.ttlMs, nowMs);
        statuses[i] = STATUS_NAMES[status];
        values[i] = status === NOT_FOUND || status === NULL_VALUE ? null : row![valueIndex + 1];
      }
      results.push({ values, statuses, event_timestamps: viewTimestamps(source.viewSlot) });
    } else {
      const computed = result.onDemand[source.odfvSlot]!;
      const output = computed.columns[source.outputIndex]!;
      const computedAt = formatTimestamp(nowMs);
      for (let i = 0; i < count; i++) {
        const status = computed.statuses[i]!;
        const shown = onDemandStatus(status as StatusCode, column.type, output[i]);
        statuses[i] = STATUS_NAMES[shown];
        values[i] = shown === NOT_FOUND || shown === NULL_VALUE ? null : outputValue(column.type, output[i]!);
      }
      results.push({ values, statuses, event_timestamps: new Array<string>(count).fill(computedAt) });
    }
  }
  return { metadata: { feature_names: names }, results };
}
