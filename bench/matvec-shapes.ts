// DeepSeek-V2-Lite's decode-time weight reads as benchmark entries for bench/matvec-bandwidth.ts (hidden 2048,
// 16 heads of 128 nope + 64 rope dims, kv_lora_rank 512, dense FFN 10944, 2 shared experts and routed experts of
// 1408, top-6, vocab 102400; the routed stack is v2-lite-r16's 16 experts). Each entry builds the engine's own
// kernel call (linear, linearSwiGLU, expertsSwiGLU, expertsDown) for one token over its own input and output
// buffers, and says how many bytes one call reads: the whole weight, or for routed experts the 6 picked ones.
import { createStorage, uploadArray } from '../engine/gpu/buffers';
import type { GpuContext, KernelCall } from '../engine/gpu/context';
import { expertsDown, expertsSwiGLU } from '../engine/kernels/experts';
import { linear, linearSwiGLU } from '../engine/kernels/linear';
import type { GpuWeight } from '../engine/weights/gpu-weight';

type ShapeKind = 'linear' | 'swiglu' | 'experts_swiglu' | 'experts_down';

export interface DecodeShape {
  name: string;
  kind: ShapeKind;
  n: number; // outputs per token (per slot for experts_swiglu)
  k: number; // inputs
  weightShape: number[]; // [N, K], [2N, K], [E, 2I, H] or [E, H, I]
  /** Bytes one call reads from memory (weights it touches, x) and writes (y). */
  bytesRead(weight: GpuWeight): number;
}

const EXPERTS = 16;
const TOP_K = 6;
const PICKED = Uint32Array.from([0, 2, 5, 7, 11, 13]);

function dense(name: string, n: number, k: number, swiglu = false): DecodeShape {
  const rows = swiglu ? 2 * n : n;
  return { name, kind: swiglu ? 'swiglu' : 'linear', n, k, weightShape: [rows, k], bytesRead: (w) => w.buffer.size + 4 * (k + n) };
}

function experts(name: string, kind: 'experts_swiglu' | 'experts_down', n: number, k: number): DecodeShape {
  const rowsPerExpert = kind === 'experts_swiglu' ? 2 * n : n;
  return {
    name, kind, n, k, weightShape: [EXPERTS, rowsPerExpert, k],
    bytesRead: (w) => (w.buffer.size / EXPERTS) * TOP_K + 4 * (kind === 'experts_swiglu' ? k + TOP_K * n : TOP_K * k + n),
  };
}

export const DECODE_SHAPES: DecodeShape[] = [
  dense('q_proj', 16 * 192, 2048),
  dense('kv_a_proj_with_mqa', 512 + 64, 2048),
  dense('kv_b_proj', 16 * (128 + 128), 512),
  dense('o_proj', 2048, 16 * 128),
  dense('dense gate_up', 10944, 2048, true),
  dense('dense down', 2048, 10944),
  dense('shared gate_up', 2 * 1408, 2048, true),
  dense('shared down', 2048, 2 * 1408),
  experts('experts gate_up', 'experts_swiglu', 1408, 2048),
  experts('experts down', 'experts_down', 2048, 1408),
  dense('lm_head', 102400, 2048),
];

/** Input/output buffers for one token of `shape`; `withWeight` builds the engine's call on them (for a context's layout and a weight); `destroy` frees them. */
export function buildShapeCall(device: GPUDevice, shape: DecodeShape): { withWeight(ctx: GpuContext, weight: GpuWeight): KernelCall; destroy(): void } {
  const x = new Float32Array(shape.kind === 'experts_down' ? TOP_K * shape.k : shape.k).map((_, i) => Math.sin(i) * 0.5);
  const input = uploadArray(device, x, `${shape.name}.x`);
  const outputs = shape.kind === 'experts_swiglu' ? TOP_K * shape.n : shape.n;
  const output = createStorage(device, outputs * 4, `${shape.name}.y`);
  const expertIds = uploadArray(device, PICKED, 'expert_ids');
  const expertWeights = uploadArray(device, new Float32Array(TOP_K).fill(1 / TOP_K), 'expert_weights');
  return {
    destroy: () => { for (const buffer of [input, output, expertIds, expertWeights]) buffer.destroy(); },
    withWeight(ctx, weight) {
      switch (shape.kind) {
        case 'linear': return linear(ctx, { input, weight, output });
        case 'swiglu': return linearSwiGLU(ctx, { input, weight, output });
        case 'experts_swiglu': return expertsSwiGLU(ctx, { input, weight, expertIds, topK: TOP_K, output });
        case 'experts_down': return expertsDown(ctx, { input, weight, expertIds, expertWeights, topK: TOP_K, output });
      }
    },
  };
}
