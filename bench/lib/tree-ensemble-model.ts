/**
 * The `burst` scenario's model: a big `ai.onnx.ml` TreeEnsembleRegressor built in code, so that
 * executing it dominates a request (design §6: capacity must be model-bound, and 10× of it a rate
 * the load generator can offer). A tree ensemble costs the same per row at any batch size (every
 * row walks every tree), so batching cannot multiply its capacity the way it does for a MatMul.
 *
 * The ONNX writer of the demo model (examples/fraud/model/onnx-writer.ts) encodes nodes without
 * attributes in the default domain only; this file adds what a TreeEnsembleRegressor needs —
 * attributes (ints, floats, strings), a node domain, and a second opset import — on top of its
 * ProtoWriter, without changing it. Field numbers follow onnx/onnx.proto.
 *
 * Trees are full binary trees of `depth` levels over `features` float inputs, with thresholds and
 * leaf weights from a seeded generator: deterministic bytes for the same parameters.
 *
 * @example
 *   const bytes = buildTreeEnsemble({ trees: 3000, depth: 8, features: 16, seed: 1 });
 */
import { seededRandom } from '../../examples/fraud/generate.ts';
import { float32LittleEndian, ONNX_FLOAT, ProtoWriter } from '../../examples/fraud/model/onnx-writer.ts';

export interface TreeEnsembleSpec {
  readonly trees: number;
  /** Branching levels per tree: 2^depth leaves. */
  readonly depth: number;
  readonly features: number;
  readonly seed: number;
}

/** AttributeProto.AttributeType. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

type Attribute =
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'ints'; value: ArrayLike<number> }
  | { name: string; type: 'floats'; value: ArrayLike<number> }
  | { name: string; type: 'strings'; value: readonly string[] };

const encoder = new TextEncoder();

/** Packed varints in one buffer (ProtoWriter allocates per value: far too slow for millions). */
function packedVarints(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 5);
  let o = 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`bad varint ${v}`);
    while (v >= 0x80) {
      out[o++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[o++] = v;
  }
  return out.subarray(0, o);
}

/** A repeated `bytes` field (strings = 9) of few distinct values, encoded once each and copied. */
function repeatedStrings(field: number, values: readonly string[]): Uint8Array {
  const encoded = new Map<string, Uint8Array>();
  let size = 0;
  for (const v of values) {
    let e = encoded.get(v);
    if (e === undefined) encoded.set(v, (e = new ProtoWriter().bytes(field, encoder.encode(v)).finish()));
    size += e.length;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const v of values) {
    const e = encoded.get(v)!;
    out.set(e, o);
    o += e.length;
  }
  return out;
}

/** AttributeProto: name = 1, i = 3, s = 4, floats = 7, ints = 8, strings = 9, type = 20. */
function encodeAttribute(a: Attribute): Uint8Array {
  const w = new ProtoWriter().string(1, a.name);
  switch (a.type) {
    case 'int':
      return w.varint(3, a.value).varint(20, ATTR.INT).finish();
    case 'string':
      return w.bytes(4, encoder.encode(a.value)).varint(20, ATTR.STRING).finish();
    case 'floats':
      return w.bytes(7, float32LittleEndian(a.value)).varint(20, ATTR.FLOATS).finish();
    case 'ints':
      return w.bytes(8, packedVarints(a.value)).varint(20, ATTR.INTS).finish();
    case 'strings': {
      // Concatenated pre-encoded `strings` records, then the type.
      const head = w.finish();
      const records = repeatedStrings(9, a.value);
      const tail = new ProtoWriter().varint(20, ATTR.STRINGS).finish();
      const out = new Uint8Array(head.length + records.length + tail.length);
      out.set(head, 0);
      out.set(records, head.length);
      out.set(tail, head.length + records.length);
      return out;
    }
  }
}

/** A float tensor graph input/output (ValueInfoProto) with a symbolic batch dimension. */
function valueInfo(name: string, width: number): Uint8Array {
  const dim = (d: number | string): Uint8Array =>
    typeof d === 'string' ? new ProtoWriter().string(2, d).finish() : new ProtoWriter().varint(1, d).finish();
  const shape = new ProtoWriter().bytes(1, dim('N')).bytes(1, dim(width)).finish();
  const tensorType = new ProtoWriter().varint(1, ONNX_FLOAT).bytes(2, shape).finish();
  const type = new ProtoWriter().bytes(1, tensorType).finish();
  return new ProtoWriter().string(1, name).bytes(2, type).finish();
}

/** The trees, in heap layout (node i has children 2i+1, 2i+2; the last 2^depth nodes are leaves). */
export interface Trees {
  readonly nodesPerTree: number;
  readonly branchesPerTree: number;
  /** Per node (all trees, tree after tree): feature compared (branches), threshold (float32). */
  readonly featureIds: Uint32Array;
  readonly thresholds: Float32Array;
  /** Per leaf (all trees): its weight. */
  readonly leafWeights: Float32Array;
}

/** The spec's trees, from its seed (deterministic). */
export function generateTrees(spec: TreeEnsembleSpec): Trees {
  const random = seededRandom(spec.seed);
  const nodesPerTree = 2 ** (spec.depth + 1) - 1;
  const leaves = 2 ** spec.depth;
  const branchesPerTree = nodesPerTree - leaves;
  const featureIds = new Uint32Array(spec.trees * nodesPerTree);
  const thresholds = new Float32Array(spec.trees * nodesPerTree);
  const leafWeights = new Float32Array(spec.trees * leaves);
  for (let tree = 0, l = 0; tree < spec.trees; tree++) {
    for (let node = 0; node < nodesPerTree; node++) {
      const n = tree * nodesPerTree + node;
      if (node < branchesPerTree) {
        featureIds[n] = Math.floor(random() * spec.features);
        thresholds[n] = random() * 2 - 1; // inputs are uniform in [-1, 1]
      } else leafWeights[l++] = (random() - 0.5) / spec.trees;
    }
  }
  return { nodesPerTree, branchesPerTree, featureIds, thresholds, leafWeights };
}

/** What the model computes for one row, in plain TypeScript (the reference for tests). */
export function referenceScore(spec: TreeEnsembleSpec, trees: Trees, row: ArrayLike<number>): number {
  let sum = 0;
  for (let tree = 0; tree < spec.trees; tree++) {
    let node = 0;
    while (node < trees.branchesPerTree) {
      const n = tree * trees.nodesPerTree + node;
      node = Math.fround(row[trees.featureIds[n]!]!) <= trees.thresholds[n]! ? 2 * node + 1 : 2 * node + 2;
    }
    sum +=
      trees.leafWeights[tree * (trees.nodesPerTree - trees.branchesPerTree) + node - trees.branchesPerTree]!;
  }
  return sum;
}

/** The attributes of a TreeEnsembleRegressor of full binary trees (BRANCH_LEQ: x ≤ t → left). */
function ensembleAttributes(spec: TreeEnsembleSpec): Attribute[] {
  const trees = generateTrees(spec);
  const { nodesPerTree, branchesPerTree } = trees;
  const leavesPerTree = nodesPerTree - branchesPerTree;
  const total = spec.trees * nodesPerTree;
  const treeIds = new Uint32Array(total);
  const nodeIds = new Uint32Array(total);
  const trueIds = new Uint32Array(total);
  const falseIds = new Uint32Array(total);
  const modes: string[] = new Array<string>(total);
  const targetTree = new Uint32Array(spec.trees * leavesPerTree);
  const targetNode = new Uint32Array(spec.trees * leavesPerTree);
  for (let tree = 0, n = 0, t = 0; tree < spec.trees; tree++) {
    for (let node = 0; node < nodesPerTree; node++, n++) {
      treeIds[n] = tree;
      nodeIds[n] = node;
      if (node < branchesPerTree) {
        modes[n] = 'BRANCH_LEQ';
        trueIds[n] = 2 * node + 1;
        falseIds[n] = 2 * node + 2;
      } else {
        modes[n] = 'LEAF';
        targetTree[t] = tree;
        targetNode[t++] = node;
      }
    }
  }
  return [
    { name: 'aggregate_function', type: 'string', value: 'SUM' },
    { name: 'n_targets', type: 'int', value: 1 },
    { name: 'nodes_falsenodeids', type: 'ints', value: falseIds },
    { name: 'nodes_featureids', type: 'ints', value: trees.featureIds },
    { name: 'nodes_modes', type: 'strings', value: modes },
    { name: 'nodes_nodeids', type: 'ints', value: nodeIds },
    { name: 'nodes_treeids', type: 'ints', value: treeIds },
    { name: 'nodes_truenodeids', type: 'ints', value: trueIds },
    { name: 'nodes_values', type: 'floats', value: trees.thresholds },
    { name: 'post_transform', type: 'string', value: 'NONE' },
    { name: 'target_ids', type: 'ints', value: new Uint32Array(targetTree.length) },
    { name: 'target_nodeids', type: 'ints', value: targetNode },
    { name: 'target_treeids', type: 'ints', value: targetTree },
    { name: 'target_weights', type: 'floats', value: trees.leafWeights },
  ];
}

/** An int64 initializer (TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9). */
function int64Tensor(name: string, values: readonly number[]): Uint8Array {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new ProtoWriter().varint(1, values.length).varint(2, 7).string(8, name).bytes(9, raw).finish();
}

interface Node {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly output: string;
  readonly attributes?: readonly Attribute[];
  readonly domain?: string;
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7. */
function encodeNode(node: Node): Uint8Array {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  w.string(2, node.output).string(3, node.output).string(4, node.op);
  for (const a of node.attributes ?? []) w.bytes(5, encodeAttribute(a));
  if (node.domain !== undefined) w.string(7, node.domain);
  return w.finish();
}

/**
 * Serialises the model: input `features` FP32 [N, features] → output `score` FP32 [N, 1].
 *
 * With `evaluationsPerRow` = K > 1 every row is scored K times by the same ensemble and the scores
 * averaged (Tile ×K → TreeEnsembleRegressor → Reshape [K, N] → ReduceMean → Transpose): K × the
 * work per row of one ensemble of K × `trees` trees, while the model (and its cache footprint, which
 * sets the cost of a tree walk) stays small. Costs stay linear in rows at every batch size.
 */
export function buildTreeEnsemble(
  spec: TreeEnsembleSpec & { readonly evaluationsPerRow?: number },
): Uint8Array {
  const k = spec.evaluationsPerRow ?? 1;
  const ensemble = (input: string, output: string): Node => ({
    op: 'TreeEnsembleRegressor',
    inputs: [input],
    output,
    attributes: ensembleAttributes(spec),
    domain: 'ai.onnx.ml',
  });
  const nodes: Node[] =
    k === 1
      ? [ensemble('features', 'score')]
      : [
          { op: 'Tile', inputs: ['features', 'repeats'], output: 'tiled' },
          ensemble('tiled', 'scores'),
          { op: 'Reshape', inputs: ['scores', 'by_copy'], output: 'by_copy_scores' },
          {
            op: 'ReduceMean',
            inputs: ['by_copy_scores'],
            output: 'mean',
            attributes: [
              { name: 'axes', type: 'ints', value: [0] },
              { name: 'keepdims', type: 'int', value: 1 },
            ],
          },
          {
            op: 'Transpose',
            inputs: ['mean'],
            output: 'score',
            attributes: [{ name: 'perm', type: 'ints', value: [1, 0] }],
          },
        ];
  // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
  const graph = new ProtoWriter();
  for (const node of nodes) graph.bytes(1, encodeNode(node));
  graph.string(2, 'burst_ensemble');
  if (k > 1) {
    graph.bytes(5, int64Tensor('repeats', [k, 1]));
    // Tile stacks the K copies of the whole batch: rows [copy 0: 0..N-1, copy 1: 0..N-1, ...].
    graph.bytes(5, int64Tensor('by_copy', [k, -1]));
  }
  graph.bytes(11, valueInfo('features', spec.features)).bytes(12, valueInfo('score', 1));
  // OperatorSetIdProto: domain = 1, version = 2. ModelProto: ir_version = 1, producer_name = 2,
  // graph = 7, opset_import = 8.
  return new ProtoWriter()
    .varint(1, 8)
    .string(2, 'quiver-bench')
    .bytes(7, graph.finish())
    .bytes(8, new ProtoWriter().varint(2, 13).finish())
    .bytes(8, new ProtoWriter().string(1, 'ai.onnx.ml').varint(2, 3).finish())
    .finish();
}
