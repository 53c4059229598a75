// Loads a checkpoint's tensors (through a TensorSource lookup, so an HF folder, a package or a test fixture all
// load the same way) into the GPU layout the kernels read. Every tensor's format comes from the WeightPlan
// (weight-plan.ts `storageFor`: norms, the router and the indexer's key/head-weight projection stay f32,
// kv_b_proj at most f16); tensor-storage.ts packs (or takes a package's words as they are) and fuses:
//   gate_proj ; up_proj            -> gateUp [2N, K]          (one fused SwiGLU kernel)
//   experts e = 0..E-1             -> experts.gateUp [E, 2I, H], experts.down [E, H, I]
//   indexer.wk ; weights_proj      -> keyAndWeights [dI + nI, H]
// A tensor over the adapter's buffer limit (split-weight.ts `weightBufferLimit`: maxStorageBufferBindingSize and
// maxBufferSize, or a smaller cap for tests) is split by rows when the kernel that reads it takes parts (every
// RowsWeight field: the linear projections, the embedding and the lm_head); kv_b_proj (the MLA kernels) and the
// stacked experts must fit one buffer, else ADAPTER_LIMITS names the tensor, its size and the limit.
import type { ModelConfig } from '../config';
import { uploadArray } from '../gpu/buffers';
import { uploadPacked, uploadStreamed, type GpuWeight } from '../weights/gpu-weight';
import type { StorageDtype } from '../weights/quant';
import { fitsOneBuffer, uploadRowSplit, weightBufferLimit, weightBytes, type RowsWeight } from '../weights/split-weight';
import type { TensorSource } from '../weights/tensor-source';
import { weightPlan, type WeightPlan } from '../weights/weight-plan';
import { TensorStorage } from './tensor-storage';

export interface FeedForwardWeights {
  gateUp: RowsWeight; // [2N, H]
  down: RowsWeight; // [H, N]
}

export interface MoeWeights {
  router: RowsWeight; // [E, H] f32
  correctionBias: GPUBuffer | null; // [E] f32, sigmoid routing only
  experts: { gateUp: GpuWeight /* [E, 2I, H] */; down: GpuWeight /* [E, H, I] */ };
  shared: FeedForwardWeights | null; // width nShared × I
}

export interface IndexerWeights {
  queryUp: RowsWeight; // wq_b [nI*dI, rQ]
  keyAndWeights: RowsWeight; // [dI + nI, H] f32
  keyNormWeight: GPUBuffer; // [dI]
  keyNormBias: GPUBuffer; // [dI]
}

export interface LayerWeights {
  inputNorm: GPUBuffer; // [H]
  postAttentionNorm: GPUBuffer; // [H]
  queryProj: RowsWeight | null; // q_proj [nH*(dN+dR), H] when qLoraRank is null
  queryDown: RowsWeight | null; // q_a_proj [rQ, H]
  queryNorm: GPUBuffer | null; // q_a_layernorm [rQ]
  queryUp: RowsWeight | null; // q_b_proj [nH*(dN+dR), rQ]
  kvDown: RowsWeight; // kv_a_proj_with_mqa [rKV + dR, H]
  kvNorm: GPUBuffer; // kv_a_layernorm [rKV]
  kvUp: GpuWeight; // kv_b_proj [nH*(dN+dV), rKV]
  outProj: RowsWeight; // o_proj [H, nH*dV]
  indexer: IndexerWeights | null;
  dense: FeedForwardWeights | null;
  moe: MoeWeights | null;
}

export interface ModelWeights {
  embedTokens: RowsWeight; // [V, H]
  layers: LayerWeights[];
  finalNorm: GPUBuffer; // [H]
  lmHead: RowsWeight; // [V, H]
  bytes: number;
}

export interface LoadWeightOptions {
  /** Caps the bytes of one weight buffer below the device's limits (tests force splits with it). */
  maxWeightBufferBytes?: number;
}

export async function loadModelWeights(device: GPUDevice, source: TensorSource, plan: WeightPlan | StorageDtype,
  options: LoadWeightOptions = {}): Promise<ModelWeights> {
  const config = source.config;
  const storage = new TensorStorage(source, typeof plan === 'string' ? weightPlan(plan) : plan);
  const limit = weightBufferLimit(device, options.maxWeightBufferBytes);
  let bytes = 0;
  const read = (name: string) => source.readF32(name);
  const vector = async (name: string) => {
    const buffer = uploadArray(device, await read(name), name);
    bytes += buffer.size;
    return buffer;
  };
  /** Tensors `names` (the same K, each [rows, K]) stacked along rows into one weight of logical `shape`, in one
   *  buffer (ADAPTER_LIMITS when it cannot fit). */
  const oneBuffer = async (names: string[], shape: number[], label: string): Promise<GpuWeight> => {
    const stream = storage.streamed(names, shape);
    if (stream && stream.bytes <= limit) {
      const weight = await uploadStreamed(device, stream, label);
      bytes += weight.buffer.size;
      return weight;
    }
    const packed = await storage.fused(names, shape);
    fitsOneBuffer(packed, label, limit);
    const weight = uploadPacked(device, packed, label);
    bytes += weight.buffer.size;
    return weight;
  };
  /** Like oneBuffer, but split by rows (SwiGLU: by gate + up row pairs) over buffers of at most `limit` bytes. */
  const fused = async (names: string[], shape: number[], label: string, swiglu = false): Promise<RowsWeight> => {
    const stream = storage.streamed(names, shape); // stored as uploaded and one buffer: chunk by chunk to the GPU
    const weight = stream && stream.bytes <= limit ? await uploadStreamed(device, stream, label)
      : uploadRowSplit(device, await storage.fused(names, shape), label, limit, swiglu);
    bytes += weightBytes(weight);
    return weight;
  };
  const plain = async (name: string) => fused([name], storage.shapeOf(name), name);
  const feedForward = async (prefix: string): Promise<FeedForwardWeights> => {
    const [n, h] = storage.shapeOf(`${prefix}.gate_proj.weight`);
    return {
      gateUp: await fused([`${prefix}.gate_proj.weight`, `${prefix}.up_proj.weight`], [2 * n, h], `${prefix}.gate_up`, true),
      down: await plain(`${prefix}.down_proj.weight`),
    };
  };

  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    const attn = `${p}.self_attn`;
    const hasQLora = config.qLoraRank !== null;
    layers.push({
      inputNorm: await vector(`${p}.input_layernorm.weight`),
      postAttentionNorm: await vector(`${p}.post_attention_layernorm.weight`),
      queryProj: hasQLora ? null : await plain(`${attn}.q_proj.weight`),
      queryDown: hasQLora ? await plain(`${attn}.q_a_proj.weight`) : null,
      queryNorm: hasQLora ? await vector(`${attn}.q_a_layernorm.weight`) : null,
      queryUp: hasQLora ? await plain(`${attn}.q_b_proj.weight`) : null,
      kvDown: await plain(`${attn}.kv_a_proj_with_mqa.weight`),
      kvNorm: await vector(`${attn}.kv_a_layernorm.weight`),
      kvUp: await oneBuffer([`${attn}.kv_b_proj.weight`], storage.shapeOf(`${attn}.kv_b_proj.weight`), `${attn}.kv_b_proj.weight`),
      outProj: await plain(`${attn}.o_proj.weight`),
      indexer: config.indexer ? await loadIndexer(`${attn}.indexer`) : null,
      dense: l < config.firstKDense ? await feedForward(`${p}.mlp`) : null,
      moe: l < config.firstKDense ? null : await loadMoe(`${p}.mlp`),
    });
  }

  async function loadIndexer(prefix: string): Promise<IndexerWeights> {
    const { nHeads, headDim } = config.indexer!;
    return {
      queryUp: await plain(`${prefix}.wq_b.weight`),
      keyAndWeights: await fused([`${prefix}.wk.weight`, `${prefix}.weights_proj.weight`],
        [headDim + nHeads, config.hiddenSize], `${prefix}.wk_weights_proj`),
      keyNormWeight: await vector(`${prefix}.k_norm.weight`),
      keyNormBias: await vector(`${prefix}.k_norm.bias`),
    };
  }

  async function loadMoe(prefix: string): Promise<MoeWeights> {
    const { nRoutedExperts: e, moeIntermediateSize: i, hiddenSize: h } = config;
    const gateUp: string[] = [];
    const down: string[] = [];
    for (let x = 0; x < e; x++) {
      gateUp.push(`${prefix}.experts.${x}.gate_proj.weight`, `${prefix}.experts.${x}.up_proj.weight`);
      down.push(`${prefix}.experts.${x}.down_proj.weight`);
    }
    return {
      router: await plain(`${prefix}.gate.weight`),
      correctionBias: config.scoring === 'sigmoid' ? await vector(`${prefix}.gate.e_score_correction_bias`) : null,
      experts: {
        gateUp: await oneBuffer(gateUp, [e, 2 * i, h], `${prefix}.experts.gate_up`),
        down: await oneBuffer(down, [e, h, i], `${prefix}.experts.down`),
      },
      shared: config.nSharedExperts > 0 ? await feedForward(`${prefix}.shared_experts`) : null,
    };
  }

  return {
    embedTokens: await plain('model.embed_tokens.weight'),
    layers,
    finalNorm: await vector('model.norm.weight'),
    lmHead: await plain('lm_head.weight'),
    get bytes() {
      return bytes;
    },
  };
}

export function modelDims(config: ModelConfig) {
  const dQK = config.qkNopeHeadDim + config.qkRopeHeadDim;
  return { dQK, latentWidth: config.kvLoraRank + config.qkRopeHeadDim };
}
