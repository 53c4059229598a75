// Whether a model's tensors can be placed in GPU buffers of at most `limit` bytes, decided from a package manifest
// before anything is downloaded or uploaded (split-weight.ts does the splitting while loading). Tensors read by the
// linear and embedding kernels split by rows, so only one row must fit (for a SwiGLU gate_proj + up_proj pair, one
// row of each); kv_b_proj (read whole by the MLA kernels) and a layer's routed experts (stacked into one
// [E, 2I, H] and one [E, H, I] buffer) must fit whole. ADAPTER_LIMITS names the tensor, what it needs and the limit.
import { EngineError } from '../errors';
import { rowCount } from './tensor-source';

export interface SizedTensor {
  name: string;
  shape: number[];
  nbytes: number; // as uploaded (packed words × 4)
}

/** What one buffer of a tensor group must hold at least. */
interface BufferNeed {
  tensor: string;
  bytes: number;
  what: string; // 'whole' or 'one row'
}

const EXPERT = /^(.*\.mlp\.experts)\.\d+\.(gate_proj|up_proj|down_proj)\.weight$/;
const SWIGLU_HALF = /^(.*\.(?:mlp|shared_experts))\.(gate_proj|up_proj)\.weight$/;

/** The smallest buffer each tensor (or fused group) needs, one entry per GPU weight. */
export function bufferNeeds(tensors: readonly SizedTensor[]): BufferNeed[] {
  const needs = new Map<string, BufferNeed>();
  const add = (key: string, tensor: string, bytes: number, what: string) => {
    const seen = needs.get(key);
    needs.set(key, { tensor, bytes: (seen?.bytes ?? 0) + bytes, what });
  };
  for (const t of tensors) {
    const expert = EXPERT.exec(t.name);
    const half = expert ? null : SWIGLU_HALF.exec(t.name);
    if (expert) {
      const fused = expert[2] === 'down_proj' ? 'down' : 'gate_up';
      add(`${expert[1]}.${fused}`, `${expert[1]}.${fused}`, t.nbytes, 'whole');
    } else if (t.name.endsWith('.kv_b_proj.weight')) {
      add(t.name, t.name, t.nbytes, 'whole');
    } else if (half) {
      add(`${half[1]}.gate_up`, `${half[1]}.gate_proj + up_proj`, t.nbytes / rowCount(t.shape), 'one row');
    } else {
      add(t.name, t.name, t.nbytes / Math.max(1, rowCount(t.shape)), 'one row');
    }
  }
  return [...needs.values()];
}

/** Throws ADAPTER_LIMITS when some weight of `model` cannot be placed in buffers of `limit` bytes. */
export function checkBufferLimits(model: string, tensors: readonly SizedTensor[], limit: number): void {
  for (const need of bufferNeeds(tensors)) {
    if (need.bytes <= limit) continue;
    const shape = need.what === 'whole' ? `one buffer of ${need.bytes} bytes for ${need.tensor}` : `${need.bytes} bytes for one row of ${need.tensor}`;
    throw new EngineError('ADAPTER_LIMITS',
      `${model} needs ${shape}, but this GPU adapter allows at most ${limit} bytes per buffer (maxStorageBufferBindingSize / ` +
      'maxBufferSize). Pick a smaller or more quantised model, or use a GPU with larger limits.',
      { needed: need.bytes, available: limit, tensor: need.tensor });
  }
}
