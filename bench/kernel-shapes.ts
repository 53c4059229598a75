// Each decode matrix kernel's achieved read bandwidth at the model's real shapes, on the model's own weights and
// activation buffers (the first MoE layer, the dense FFN of layer 0, the lm_head): kernel calls built with the same
// drivers the forward pass uses, each encoded `iters` times in one submit for a one-row step (gpu-timing.ts), timed
// by wall clock and, where the device has timestamps, on the GPU (the kernel's own rate, launch gaps included, the
// CPU's encoding not).
// Run after a decode step, so scratch.expertIds holds real routed ids. Bytes = weight bytes the call reads (k/E of
// the stacked experts; the W_UK or W_UV half of kv_b_proj) + its f32 input and output.
import { uploadArray } from '../engine/gpu/buffers';
import type { KernelCall } from '../engine/gpu/context';
import { expertsDown, expertsSwiGLU } from '../engine/kernels/experts';
import { linear, linearSwiGLU } from '../engine/kernels/linear';
import { mlaQueryAbsorb, mlaValueUp } from '../engine/kernels/mla';
import type { DeepseekForward } from '../engine/model/forward';
import { buildRopeTable } from '../engine/model/rope';
import { weightBytes, type RowsWeight } from '../engine/weights/split-weight';
import { timeSubmit } from './gpu-timing';

export interface KernelFigure {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
  us: number; // wall clock per call
  gbps: number;
  ofCeiling: number;
  gpuUs: number | null; // GPU time per call (null without timestamps)
  gpuGBps: number | null;
  gpuOfCeiling: number | null;
}

interface Probe {
  name: string;
  weight: RowsWeight;
  call: KernelCall;
  bytes: number;
}

function ropeTable(model: DeepseekForward): GPUBuffer {
  const table = buildRopeTable(model.config, 4);
  const interleaved = new Float32Array(table.cos.length * 2);
  table.cos.forEach((c, i) => interleaved.set([c, table.sin[i]], 2 * i));
  return uploadArray(model.ctx.device, interleaved, 'bench_rope_table');
}

function probes(model: DeepseekForward): Probe[] {
  const { ctx, config, weights, scratch } = model;
  const { numHeads: nH, qkNopeHeadDim: dN, qkRopeHeadDim: dR, vHeadDim: dV, kvLoraRank: rKV, hiddenSize: h } = config;
  const out: Probe[] = [];
  const io = (w: RowsWeight, n: number) => weightBytes(w) + (w.shape[w.shape.length - 1] + n) * 4;
  const lin = (name: string, weight: RowsWeight, input: GPUBuffer, output: GPUBuffer) =>
    out.push({ name, weight, call: linear(ctx, { input, weight, output }), bytes: io(weight, weight.shape[0]) });
  const swiglu = (name: string, weight: RowsWeight) => out.push({
    name, weight, call: linearSwiGLU(ctx, { input: scratch.normed, weight, output: scratch.ffnHidden }), bytes: io(weight, weight.shape[0] / 2),
  });
  const moeLayer = weights.layers.find((l) => l.moe) ?? weights.layers[0];
  const dense = weights.layers.find((l) => l.dense)?.dense;
  if (moeLayer.queryProj) lin('q_proj', moeLayer.queryProj, scratch.normed, scratch.query);
  if (moeLayer.queryDown) lin('q_a_proj', moeLayer.queryDown, scratch.normed, scratch.queryLatent);
  if (moeLayer.queryUp) lin('q_b_proj', moeLayer.queryUp, scratch.queryLatentNormed, scratch.query);
  lin('kv_a_proj_with_mqa', moeLayer.kvDown, scratch.normed, scratch.kvLatentRaw);
  const kvB = moeLayer.kvUp;
  out.push({
    name: 'kv_b_proj absorbed (W_UK)', weight: kvB, bytes: (kvB.buffer.size * dN) / (dN + dV) + nH * (dN + dR + rKV + dR) * 4,
    call: mlaQueryAbsorb(ctx, { q: scratch.query, kvB, nH, dN, dR, dV, rKV, ropeTable: ropeTable(model), qAbs: scratch.queryAbsorbed }),
  });
  out.push({
    name: 'kv_b_proj value up (W_UV)', weight: kvB, bytes: (kvB.buffer.size * dV) / (dN + dV) + nH * (rKV + dV) * 4,
    call: mlaValueUp(ctx, { attnLatent: scratch.attentionLatent, kvB, nH, dN, dV, rKV, output: scratch.attentionOut }),
  });
  lin('o_proj', moeLayer.outProj, scratch.attentionOut, scratch.hidden);
  if (moeLayer.indexer) {
    lin('indexer wq_b', moeLayer.indexer.queryUp, scratch.queryLatentNormed, scratch.indexer!.queries);
    lin('indexer wk;weights_proj', moeLayer.indexer.keyAndWeights, scratch.normed, scratch.indexer!.keyAndWeights);
  }
  if (dense) {
    swiglu('dense gate_up', dense.gateUp);
    lin('dense down', dense.down, scratch.ffnHidden, scratch.hidden);
  }
  const moe = moeLayer.moe;
  if (moe) {
    lin('router', moe.router, scratch.normed, scratch.routerLogits);
    if (moe.shared) {
      swiglu('shared experts gate_up', moe.shared.gateUp);
      lin('shared experts down', moe.shared.down, scratch.ffnHidden, scratch.hidden);
    }
    const topK = config.numExpertsPerTok;
    const share = topK / config.nRoutedExperts;
    const i = config.moeIntermediateSize;
    out.push({
      name: `experts gate_up (top-${topK})`, weight: moe.experts.gateUp, bytes: share * moe.experts.gateUp.buffer.size + (h + topK * i) * 4,
      call: expertsSwiGLU(ctx, { input: scratch.normed, weight: moe.experts.gateUp, expertIds: scratch.expertIds, topK, output: scratch.expertHidden }),
    });
    out.push({
      name: `experts down (top-${topK})`, weight: moe.experts.down, bytes: share * moe.experts.down.buffer.size + (topK * i + h) * 4,
      call: expertsDown(ctx, {
        input: scratch.expertHidden, weight: moe.experts.down, expertIds: scratch.expertIds, expertWeights: scratch.expertWeights,
        topK, output: scratch.hidden, accumulate: false,
      }),
    });
  }
  lin('lm_head', weights.lmHead, scratch.normed, scratch.logits);
  return out;
}

/** GB/s of each decode matrix kernel of `model` (one-row steps), and its share of `ceilingGBps`. */
export async function kernelFigures(model: DeepseekForward, ceilingGBps: number, iters: number): Promise<KernelFigure[]> {
  const figures: KernelFigure[] = [];
  for (const probe of probes(model)) {
    model.ctx.writeStep(1, 0, false);
    const { wall, gpu } = await timeSubmit(model.ctx.device, iters, (pass) => probe.call.encode(pass, 1));
    const gbps = probe.bytes / wall / 1e9;
    const gpuGBps = gpu === null ? null : probe.bytes / gpu / 1e9;
    figures.push({
      name: probe.name, dtype: probe.weight.dtype, shape: probe.weight.shape, bytes: Math.round(probe.bytes),
      us: wall * 1e6, gbps, ofCeiling: gbps / ceilingGBps,
      gpuUs: gpu === null ? null : gpu * 1e6, gpuGBps, gpuOfCeiling: gpuGBps === null ? null : gpuGBps / ceilingGBps,
    });
  }
  return figures;
}
