// A synthetic model's weights, generated on the GPU (bench/synthetic_fill.wgsl) straight into the engine's own
// weight objects (ModelWeights of engine/model/weights.ts, GpuWeight buffers in the packed layouts of
// engine/weights/quant.ts), so DeepseekForward.fromWeights runs the real forward path over them. Each tensor gets
// the format the WeightPlan gives its Hub name (storageFor: router and indexer keys f32, kv_b_proj at most f16, ...)
// and the fused layouts the loader builds (gate;up rows, stacked experts [E, 2I, H] / [E, H, I], wk;weights_proj).
// Values: matrices [N, K] with unit-variance outputs for unit-variance inputs (std 1/sqrt(K); q8/q4 codes uniform
// over their range with matching f16 group scales), norm weights 1 ± 0.1, biases ± 0.1. Random routers still pick
// top-k distinct experts per token, so a token reads the same bytes as with trained weights.
import type { ModelConfig } from '../engine/config';
import { createStorage } from '../engine/gpu/buffers';
import type { FeedForwardWeights, IndexerWeights, LayerWeights, ModelWeights, MoeWeights } from '../engine/model/weights';
import type { GpuWeight } from '../engine/weights/gpu-weight';
import { packedLayout, type StorageDtype } from '../engine/weights/quant';
import { storageFor, type WeightPlan } from '../engine/weights/weight-plan';
import fillSource from './synthetic_fill.wgsl';

const MODE = { f32: 0, f16: 1, codes: 2, scale: 3 } as const;
/** Standard deviation of a uniform code: int8 over [-128, 127], 4-bit over [-8, 7]. */
const CODE_STD = { q8: 73.9, q4: 4.61 } as const;

/** Writes pseudo-random words into buffers on the GPU, one small submit per run of words. */
export class GpuFiller {
  private readonly pipeline: GPUComputePipeline;
  private readonly params: GPUBuffer;
  private seed = 1;

  constructor(private readonly device: GPUDevice) {
    const module = device.createShaderModule({ label: 'synthetic_fill', code: fillSource });
    this.pipeline = device.createComputePipeline({ label: 'synthetic_fill', layout: 'auto', compute: { module, entryPoint: 'main' } });
    this.params = device.createBuffer({ label: 'synthetic_fill_params', size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  /** Words [start, start + count) of `buffer` in `mode` (see the shader), with a fresh seed each call. */
  fill(buffer: GPUBuffer, start: number, count: number, mode: keyof typeof MODE, center: number, amplitude: number): void {
    if (count <= 0) return;
    const params = new ArrayBuffer(32);
    new Uint32Array(params, 0, 4).set([start, count, this.seed++, MODE[mode]]);
    new Float32Array(params, 16, 2).set([center, amplitude]);
    this.device.queue.writeBuffer(this.params, 0, params);
    const group = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: this.params } }, { binding: 1, resource: { buffer } }],
    });
    const encoder = this.device.createCommandEncoder({ label: 'synthetic_fill' });
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(Math.min(65535, Math.ceil(count / 256)));
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  /** A whole buffer of f32 values center ± amplitude (caches, vectors). */
  fillF32(buffer: GPUBuffer, center: number, amplitude: number): void {
    this.fill(buffer, 0, buffer.size / 4, 'f32', center, amplitude);
  }
}

/** A weight of logical shape [..., N, K] in `dtype`, filled with values of std 1/sqrt(K). */
export function syntheticMatrix(device: GPUDevice, filler: GpuFiller, shape: number[], dtype: StorageDtype, group: number, label: string): GpuWeight {
  const k = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const layout = packedLayout(dtype, rows, k, group);
  const buffer = createStorage(device, layout.words * 4, label);
  const std = 1 / Math.sqrt(k);
  if (dtype === 'f32' || dtype === 'f16') {
    filler.fill(buffer, 0, layout.words, dtype, 0, std * Math.sqrt(3));
  } else {
    filler.fill(buffer, 0, layout.scaleOffset, 'codes', 0, 0);
    filler.fill(buffer, layout.scaleOffset, layout.words - layout.scaleOffset, 'scale', 0, std / CODE_STD[dtype]);
  }
  return {
    buffer, dtype, shape, rowStride: layout.rowWords, group: layout.group,
    scaleOffset: layout.scaleRowWords ? layout.scaleOffset : 0, scaleRowStride: layout.scaleRowWords,
  };
}

/** Every weight of `config` under `plan`, made on the GPU; resolves once the fills have run. */
export async function syntheticWeights(device: GPUDevice, config: ModelConfig, plan: WeightPlan): Promise<ModelWeights> {
  const filler = new GpuFiller(device);
  let bytes = 0;
  /** `name` picks the format (the Hub name of the tensor, or of the first part of a fused one). */
  const matrix = (name: string, shape: number[]): GpuWeight => {
    const { dtype, group } = storageFor(name, shape.length > 2 ? [shape[0] * shape[1], shape[2]] : shape, plan);
    const weight = syntheticMatrix(device, filler, shape, dtype, group, name);
    bytes += weight.buffer.size;
    return weight;
  };
  const vector = (name: string, n: number, center: number): GPUBuffer => {
    const buffer = createStorage(device, n * 4, name);
    filler.fill(buffer, 0, n, 'f32', center, 0.1);
    bytes += buffer.size;
    return buffer;
  };
  const { hiddenSize: h, numHeads: nH, qkNopeHeadDim: dN, qkRopeHeadDim: dR, vHeadDim: dV, kvLoraRank: rKV } = config;
  const feedForward = (prefix: string, width: number): FeedForwardWeights => ({
    gateUp: matrix(`${prefix}.gate_proj.weight`, [2 * width, h]),
    down: matrix(`${prefix}.down_proj.weight`, [h, width]),
  });
  const moe = (prefix: string): MoeWeights => {
    const { nRoutedExperts: e, moeIntermediateSize: i } = config;
    return {
      router: matrix(`${prefix}.gate.weight`, [e, h]),
      correctionBias: config.scoring === 'sigmoid' ? vector(`${prefix}.gate.e_score_correction_bias`, e, 0) : null,
      experts: {
        gateUp: matrix(`${prefix}.experts.0.gate_proj.weight`, [e, 2 * i, h]),
        down: matrix(`${prefix}.experts.0.down_proj.weight`, [e, h, i]),
      },
      shared: config.nSharedExperts > 0 ? feedForward(`${prefix}.shared_experts`, config.nSharedExperts * i) : null,
    };
  };
  const indexer = (prefix: string): IndexerWeights => {
    const { nHeads: nI, headDim: dI } = config.indexer!;
    return {
      queryUp: matrix(`${prefix}.wq_b.weight`, [nI * dI, config.qLoraRank!]),
      keyAndWeights: matrix(`${prefix}.wk.weight`, [dI + nI, h]),
      keyNormWeight: vector(`${prefix}.k_norm.weight`, dI, 1),
      keyNormBias: vector(`${prefix}.k_norm.bias`, dI, 0),
    };
  };

  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    const attn = `${p}.self_attn`;
    const rQ = config.qLoraRank;
    layers.push({
      inputNorm: vector(`${p}.input_layernorm.weight`, h, 1),
      postAttentionNorm: vector(`${p}.post_attention_layernorm.weight`, h, 1),
      queryProj: rQ === null ? matrix(`${attn}.q_proj.weight`, [nH * (dN + dR), h]) : null,
      queryDown: rQ === null ? null : matrix(`${attn}.q_a_proj.weight`, [rQ, h]),
      queryNorm: rQ === null ? null : vector(`${attn}.q_a_layernorm.weight`, rQ, 1),
      queryUp: rQ === null ? null : matrix(`${attn}.q_b_proj.weight`, [nH * (dN + dR), rQ]),
      kvDown: matrix(`${attn}.kv_a_proj_with_mqa.weight`, [rKV + dR, h]),
      kvNorm: vector(`${attn}.kv_a_layernorm.weight`, rKV, 1),
      kvUp: matrix(`${attn}.kv_b_proj.weight`, [nH * (dN + dV), rKV]),
      outProj: matrix(`${attn}.o_proj.weight`, [h, nH * dV]),
      indexer: config.indexer ? indexer(`${attn}.indexer`) : null,
      dense: l < config.firstKDense ? feedForward(`${p}.mlp`, config.intermediateSize) : null,
      moe: l < config.firstKDense ? null : moe(`${p}.mlp`),
    });
    await device.queue.onSubmittedWorkDone(); // keeps the queue of fills short
  }
  const weights: ModelWeights = {
    embedTokens: matrix('model.embed_tokens.weight', [config.vocabSize, h]),
    layers,
    finalNorm: vector('model.norm.weight', h, 1),
    lmHead: matrix('lm_head.weight', [config.vocabSize, h]),
    bytes: 0,
  };
  weights.bytes = bytes;
  await device.queue.onSubmittedWorkDone();
  return weights;
}
