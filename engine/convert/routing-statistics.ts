// Routing statistics of the ORIGINAL model: run token sequences through the float64 reference (layer streaming,
// engine/reference/layer-stream.ts) and sum, per MoE layer and routed expert, the routing weight the model applied
// to that expert (the weights of deepseek-math.md §5: V2 softmax, greedy or group-limited; V3/V3.2 sigmoid,
// correction bias and group top-2 for the choice, normalisation and routed_scaling_factor for the weight), and
// count its selections. These are the scores experts are kept by. Also the fixed token stream the heuristic uses.
import { badCheckpoint } from '../errors';
import { streamLayers } from '../reference/layer-stream';
import type { TensorSource } from '../weights/tensor-source';

export interface LayerRouting {
  layer: number; // decoder layer index (a MoE layer)
  weightSum: Float64Array; // [E] Σ over tokens of the weight applied to expert e
  selections: Float64Array; // [E] how many tokens selected expert e
}

export interface RoutingStatistics {
  tokens: number; // tokens routed in every MoE layer
  layers: LayerRouting[]; // one per MoE layer, ascending
}

export interface RoutingStatisticsOptions {
  onProgress?: (layersDone: number, layers: number) => void;
}

/** Checks every id is a token of the vocabulary and every sequence non-empty. */
export function checkTokenIds(sequences: readonly (readonly number[])[], vocabSize: number, subject: string): void {
  if (sequences.length === 0) throw badCheckpoint(subject, 'at least one token sequence', 'none');
  sequences.forEach((ids, s) => {
    if (ids.length === 0) throw badCheckpoint(`${subject}: sequence ${s}`, 'at least one token id', 'an empty sequence');
    const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (bad >= 0) {
      throw badCheckpoint(`${subject}: sequence ${s}, position ${bad}`, `a token id in [0, ${vocabSize})`, String(ids[bad]),
        'Is the calibration file tokenized for this checkpoint?');
    }
  });
}

export async function collectRoutingStatistics(
  source: TensorSource,
  sequences: readonly (readonly number[])[],
  options: RoutingStatisticsOptions = {},
): Promise<RoutingStatistics> {
  const c = source.config;
  checkTokenIds(sequences, c.vocabSize, 'calibration tokens');
  const layers: LayerRouting[] = [];
  for (let l = c.firstKDense; l < c.numLayers; l++) {
    layers.push({ layer: l, weightSum: new Float64Array(c.nRoutedExperts), selections: new Float64Array(c.nRoutedExperts) });
  }
  await streamLayers(source, sequences, {
    onProgress: options.onProgress,
    onRoute: (layer, _sequence, _row, route) => {
      const stats = layers[layer - c.firstKDense];
      route.ids.forEach((e, i) => {
        stats.weightSum[e] += route.weights[i];
        stats.selections[e] += 1;
      });
    },
  });
  return { tokens: sequences.reduce((n, ids) => n + ids.length, 0), layers };
}

/** The heuristic's calibration: `count` sequences of `length` token ids, uniform over the vocabulary from a
 *  fixed-seed generator (mulberry32), so the same checkpoint always gets the same choice. */
export function pseudoRandomTokens(vocabSize: number, count = 4, length = 32, seed = 0x5eed): number[][] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => Array.from({ length }, () => Math.floor(next() * vocabSize)));
}
