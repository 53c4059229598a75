// Runs token sequences through the float64 reference model one decoder layer at a time, so memory holds one
// layer's attention, router and shared-expert weights plus ONE routed expert at a time (and every sequence's
// hidden state [T, H] in float64), never the whole model. Each sequence is a fresh prompt from position 0; its MLA
// (and V3.2 indexer) caches live only while its layer runs. The MoE of a layer is computed expert by expert over
// the tokens of all sequences routed to it, with the same float64 router (`routeExperts`) as `ReferenceModel`.
// Used for routing statistics (expert reduction); the final norm and lm_head are never read.
import type { TensorSource } from '../weights/tensor-source';
import { addInPlace, swiGluFfn } from './forward-parts';
import { ReferenceModel } from './forward';
import { loadLayerWeights, loadRoutedExpert, type MoeWeights } from './forward-weights';
import { embedding, linear } from './ops-core';
import { routeExperts, type ExpertRoute } from './ops-routing';

export interface LayerStreamOptions {
  /** V3.2: 'sparse' (the model as defined, default) or 'dense' attention. */
  attention?: 'sparse' | 'dense';
  /** Every routing decision: MoE layer, sequence index, token row in it, chosen experts and applied weights. */
  onRoute?: (layer: number, sequence: number, row: number, route: ExpertRoute) => void;
  /** After each layer: layers done, layers in all. */
  onProgress?: (layersDone: number, layers: number) => void;
}

/** The hidden states [T, H] of every sequence after the last decoder layer (before the final norm). */
export async function streamLayers(
  source: TensorSource,
  sequences: readonly (readonly number[])[],
  options: LayerStreamOptions = {},
): Promise<Float64Array[]> {
  const c = source.config;
  const H = c.hiddenSize;
  const embedTokens = await source.readF32('model.embed_tokens.weight');
  const hidden = sequences.map((ids) => embedding(embedTokens, ids, H)); // per sequence [T, H]
  const model = ReferenceModel.withoutWeights(c);
  const forward = { attention: options.attention };
  for (let l = 0; l < c.numLayers; l++) {
    const layer = await loadLayerWeights(source, l, false);
    const ffnInputs = hidden.map((h, s) => {
      model.reset();
      return model.runAttention(l, layer, h, sequences[s].length, 0, forward); // [T, H]
    });
    if (layer.denseFfn) {
      ffnInputs.forEach((y, s) => addInPlace(hidden[s], swiGluFfn(y, layer.denseFfn!, sequences[s].length, H)));
    } else {
      await moeExpertByExpert(source, l, layer.moe!, ffnInputs, hidden, options);
    }
    options.onProgress?.(l + 1, c.numLayers);
  }
  return hidden;
}

interface RoutedToken {
  sequence: number;
  row: number;
  weight: number;
}

/** Adds the MoE output of layer `l` for every token into `hidden`, reading each routed expert once. */
async function moeExpertByExpert(
  source: TensorSource,
  l: number,
  w: MoeWeights,
  ffnInputs: Float64Array[],
  hidden: Float64Array[],
  options: LayerStreamOptions,
): Promise<void> {
  const c = source.config;
  const H = c.hiddenSize;
  const tokensOf: RoutedToken[][] = Array.from({ length: c.nRoutedExperts }, () => []);
  ffnInputs.forEach((y, sequence) => {
    const T = y.length / H;
    for (let row = 0; row < T; row++) {
      const token = y.subarray(row * H, (row + 1) * H);
      const route = routeExperts(linear(token, w.router, 1, c.nRoutedExperts, H), w.scoreBias, c);
      options.onRoute?.(l, sequence, row, route);
      route.ids.forEach((e, i) => tokensOf[e].push({ sequence, row, weight: route.weights[i] }));
      if (w.sharedExperts) addInPlace(hidden[sequence].subarray(row * H, (row + 1) * H), swiGluFfn(token, w.sharedExperts, 1, H));
    }
  });
  for (let e = 0; e < c.nRoutedExperts; e++) {
    if (tokensOf[e].length === 0) continue;
    const expert = await loadRoutedExpert(source, c, `model.layers.${l}.mlp`, e);
    for (const { sequence, row, weight } of tokensOf[e]) {
      const out = swiGluFfn(ffnInputs[sequence].subarray(row * H, (row + 1) * H), expert, 1, H);
      const target = hidden[sequence].subarray(row * H, (row + 1) * H);
      for (let d = 0; d < H; d++) target[d] += weight * out[d];
    }
  }
}
