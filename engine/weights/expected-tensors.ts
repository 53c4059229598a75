// The tensors the forward pass reads, with their shapes (deepseek-math.md §2; all 2-D weights are [out, in]), and
// the check that a source holds each of them in a float dtype with that shape, FP8 ones with a
// [ceil(out/128), ceil(in/128)] block scale. Running it at open turns a wrong or partial checkpoint into one
// BAD_CHECKPOINT naming the first bad tensor, instead of a shape error deep inside a kernel. Extra tensors (the MTP
// layer, anything else) are allowed and ignored.
import type { ModelConfig } from '../config';
import { badCheckpoint } from '../errors';
import { STORAGE_DTYPES, type StorageDtype } from './quant';
import { FLOAT_DTYPES } from './safetensors';
import { blockScaleShape, formatShape, sameShape, type TensorSource } from './tensor-source';

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

function attentionTensors(c: ModelConfig, layer: string): ExpectedTensor[] {
  const H = c.hiddenSize;
  const qkHeadDim = c.qkNopeHeadDim + c.qkRopeHeadDim;
  const attn = `${layer}.self_attn`;
  const query: ExpectedTensor[] =
    c.qLoraRank === null
      ? [{ name: `${attn}.q_proj.weight`, shape: [c.numHeads * qkHeadDim, H] }] // [nH*(dN+dR), H]
      : [
          { name: `${attn}.q_a_proj.weight`, shape: [c.qLoraRank, H] }, // [rQ, H]
          { name: `${attn}.q_a_layernorm.weight`, shape: [c.qLoraRank] },
          { name: `${attn}.q_b_proj.weight`, shape: [c.numHeads * qkHeadDim, c.qLoraRank] }, // [nH*(dN+dR), rQ]
        ];
  return [
    ...query,
    { name: `${attn}.kv_a_proj_with_mqa.weight`, shape: [c.kvLoraRank + c.qkRopeHeadDim, H] }, // [rKV+dR, H]
    { name: `${attn}.kv_a_layernorm.weight`, shape: [c.kvLoraRank] },
    { name: `${attn}.kv_b_proj.weight`, shape: [c.numHeads * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank] },
    { name: `${attn}.o_proj.weight`, shape: [H, c.numHeads * c.vHeadDim] }, // [H, nH*dV]
  ];
}

/** V3.2 lightning indexer: nI heads of dI, reading the query latent (rQ) and the hidden state (H). */
function indexerTensors(c: ModelConfig, layer: string): ExpectedTensor[] {
  if (!c.indexer || c.qLoraRank === null) return [];
  const { nHeads, headDim } = c.indexer;
  const indexer = `${layer}.self_attn.indexer`;
  return [
    { name: `${indexer}.wq_b.weight`, shape: [nHeads * headDim, c.qLoraRank] }, // [nI*dI, rQ]
    { name: `${indexer}.wk.weight`, shape: [headDim, c.hiddenSize] }, // [dI, H]
    { name: `${indexer}.k_norm.weight`, shape: [headDim] },
    { name: `${indexer}.k_norm.bias`, shape: [headDim] },
    { name: `${indexer}.weights_proj.weight`, shape: [nHeads, c.hiddenSize] }, // [nI, H]
  ];
}

/** SwiGLU gate/up [width, H] and down [H, width]. */
function swiGluTensors(prefix: string, width: number, hiddenSize: number): ExpectedTensor[] {
  return [
    { name: `${prefix}.gate_proj.weight`, shape: [width, hiddenSize] },
    { name: `${prefix}.up_proj.weight`, shape: [width, hiddenSize] },
    { name: `${prefix}.down_proj.weight`, shape: [hiddenSize, width] },
  ];
}

function moeTensors(c: ModelConfig, layer: string): ExpectedTensor[] {
  const E = c.nRoutedExperts;
  const mlp = `${layer}.mlp`;
  const tensors: ExpectedTensor[] = [{ name: `${mlp}.gate.weight`, shape: [E, c.hiddenSize] }]; // router [E, H]
  if (c.scoring === 'sigmoid') tensors.push({ name: `${mlp}.gate.e_score_correction_bias`, shape: [E] });
  for (let expert = 0; expert < E; expert++) {
    tensors.push(...swiGluTensors(`${mlp}.experts.${expert}`, c.moeIntermediateSize, c.hiddenSize));
  }
  if (c.nSharedExperts > 0) {
    tensors.push(...swiGluTensors(`${mlp}.shared_experts`, c.nSharedExperts * c.moeIntermediateSize, c.hiddenSize));
  }
  return tensors;
}

/** Every tensor the forward pass needs, in checkpoint order of use (embedding, layers 0..L-1, norm, head). */
export function expectedTensors(config: ModelConfig): ExpectedTensor[] {
  const H = config.hiddenSize;
  const tensors: ExpectedTensor[] = [{ name: 'model.embed_tokens.weight', shape: [config.vocabSize, H] }];
  for (let index = 0; index < config.numLayers; index++) {
    const layer = `model.layers.${index}`;
    tensors.push({ name: `${layer}.input_layernorm.weight`, shape: [H] });
    tensors.push(...attentionTensors(config, layer), ...indexerTensors(config, layer));
    tensors.push({ name: `${layer}.post_attention_layernorm.weight`, shape: [H] });
    if (index < config.firstKDense) tensors.push(...swiGluTensors(`${layer}.mlp`, config.intermediateSize, H));
    else tensors.push(...moeTensors(config, layer));
  }
  tensors.push({ name: 'model.norm.weight', shape: [H] }, { name: 'lm_head.weight', shape: [config.vocabSize, H] });
  return tensors;
}

/** Throws BAD_CHECKPOINT for the first expected tensor that is missing, of a non-float dtype, misshapen, or FP8
 *  without a block scale of the right shape. */
export function validateTensors(source: TensorSource): void {
  for (const { name, shape } of expectedTensors(source.config)) {
    const info = source.info(name);
    if (!info) {
      throw badCheckpoint(name, `a tensor of shape ${formatShape(shape)}`, 'no such tensor in the checkpoint');
    }
    // A model package's tensors are packed storage formats (quant.ts), which its readF32 widens like a float dtype.
    if (!FLOAT_DTYPES.includes(info.dtype) && !STORAGE_DTYPES.includes(info.dtype as StorageDtype)) {
      throw badCheckpoint(name, `a float dtype (${FLOAT_DTYPES.join(', ')})`, `dtype ${info.dtype}`);
    }
    if (!sameShape(info.shape, shape)) {
      throw badCheckpoint(name, `shape ${formatShape(shape)}`, `shape ${formatShape(info.shape)}`);
    }
    if (info.dtype === 'F8_E4M3') checkBlockScale(name, info.shape, info.blockScale);
  }
}

function checkBlockScale(name: string, shape: number[], scale: { dtype: string; shape: number[] } | undefined): void {
  const scaleShape = blockScaleShape(shape);
  const scaleName = `${name}_scale_inv`;
  if (shape.length !== 2) {
    throw badCheckpoint(name, 'a 2-D weight (FP8 is only block-scaled in 2-D)', `shape ${formatShape(shape)}`);
  }
  if (!scale) {
    const wanted = `an F32 block scale of shape ${formatShape(scaleShape)} for this FP8 weight`;
    throw badCheckpoint(scaleName, wanted, 'no such tensor in the checkpoint');
  }
  if (!sameShape(scale.shape, scaleShape)) {
    throw badCheckpoint(scaleName, `shape ${formatShape(scaleShape)}`, `shape ${formatShape(scale.shape)}`);
  }
  if (!FLOAT_DTYPES.includes(scale.dtype) || scale.dtype === 'F8_E4M3') {
    throw badCheckpoint(scaleName, 'a float dtype (F32, BF16 or F16)', `dtype ${scale.dtype}`);
  }
}
