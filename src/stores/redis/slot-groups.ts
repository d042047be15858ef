/**
 * Multi-key work on a Redis Cluster. The cluster refuses a command whose keys lie in different hash
 * slots (CROSSSLOT), so keys are grouped by slot, one command per group, and the commands bound for
 * one node go out together as one pipeline: a read or write costs one round trip per node, in
 * parallel, whatever the number of slots it touches.
 */
import calculateSlot from 'cluster-key-slot';
import type { ChainableCommander, Cluster } from 'ioredis';

export interface SlotGroup<T> {
  readonly slot: number;
  /** Positions in the input, in input order. */
  readonly positions: number[];
  readonly items: T[];
}

/** `items` grouped by the hash slot of `keyOf(item)`, groups in order of first appearance. */
export function groupBySlot<T>(items: readonly T[], keyOf: (item: T) => string): SlotGroup<T>[] {
  const bySlot = new Map<number, SlotGroup<T>>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const slot = calculateSlot(keyOf(item));
    const group = bySlot.get(slot);
    if (group === undefined) bySlot.set(slot, { slot, positions: [i], items: [item] });
    else {
      group.positions.push(i);
      group.items.push(item);
    }
  }
  return [...bySlot.values()];
}

/** Splits each group into chunks of at most `size` items, keeping the input order inside a slot. */
export function chunkGroups<T>(groups: readonly SlotGroup<T>[], size: number): SlotGroup<T>[] {
  const chunks: SlotGroup<T>[] = [];
  for (const { slot, positions, items } of groups) {
    for (let start = 0; start < items.length; start += size) {
      chunks.push({
        slot,
        positions: positions.slice(start, start + size),
        items: items.slice(start, start + size),
      });
    }
  }
  return chunks;
}

/**
 * One command per group (`add` queues it on the pipeline given), one pipeline per node; resolves
 * to the groups' replies in group order, or rejects with the first failure.
 */
export async function pipelinePerNode<T>(
  cluster: Cluster,
  groups: readonly SlotGroup<T>[],
  add: (pipeline: ChainableCommander, group: SlotGroup<T>) => void,
): Promise<unknown[]> {
  const pipelines = new Map<string, { pipeline: ChainableCommander; groups: number[] }>();
  groups.forEach((group, g) => {
    // Unknown slot (map not loaded or being refreshed): a pipeline of its own, routed by its key.
    const node = cluster.slots[group.slot]?.join(',') ?? `slot:${group.slot}`;
    let entry = pipelines.get(node);
    if (entry === undefined) {
      entry = { pipeline: cluster.pipeline(), groups: [] };
      pipelines.set(node, entry);
    }
    add(entry.pipeline, group);
    entry.groups.push(g);
  });
  const replies = new Array<unknown>(groups.length);
  const entries = [...pipelines.values()];
  const results = await Promise.all(entries.map((e) => e.pipeline.exec()));
  results.forEach((result, p) => {
    const groupsOfNode = entries[p]!.groups;
    if (result === null) throw new Error('pipeline discarded');
    result.forEach(([err, reply], k) => {
      if (err !== null) throw err;
      replies[groupsOfNode[k]!] = reply;
    });
  });
  return replies;
}
