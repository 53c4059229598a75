// Which storage format each tensor gets: the one rule used by the loader (checkpoint -> GPU) and the converter
// (checkpoint -> package), so a package holds exactly what loading its checkpoint with the same plan uploads.
// Classes, by Hub tensor name:
//   vector      norms, biases, V3's e_score_correction_bias: f32, never quantised (they are tiny).
//   router      mlp.gate.weight: f32 (routing picks experts through near-ties; rounding it flips them).
//   indexerKey  indexer.wk / indexer.weights_proj: f32 (the DSA top-k is as sensitive as routing).
//   kvUp        kv_b_proj: at most f16 (the MLA kernels absorb it per head and read it in f16 or f32).
//   embedding   model.embed_tokens.weight: plan.embedding, else plan.dtype.
//   lmHead      lm_head.weight: plan.lmHead, else plan.dtype.
//   experts     the routed experts (mlp.experts.*, not the shared ones): plan.routedExperts, else plan.dtype.
//   matrix      every other 2-D weight (attention projections, the dense FFN, the shared experts).
import { isQuantised, type StorageDtype } from './quant';

export interface WeightPlan {
  dtype: StorageDtype; // matrices
  group: number; // elements per f16 scale for q8/q4 (a positive multiple of 8); ignored for f32/f16
  embedding?: StorageDtype; // defaults to dtype
  lmHead?: StorageDtype; // defaults to dtype
  // Routed experts, defaults to dtype. In a small MoE they are most of the bytes but each token uses only top-k of
  // them, so e.g. { dtype: 'f16', routedExperts: 'q8' } keeps every per-token matrix f16 for a little more size.
  routedExperts?: StorageDtype;
}

export type TensorClass = 'vector' | 'router' | 'indexerKey' | 'kvUp' | 'embedding' | 'lmHead' | 'experts' | 'matrix';

/**
 * Default plans per `--weights` choice. q8 uses groups of 16 and q4 groups of 32; the embedding and lm_head stay
 * one step more precise than the rest (q8 -> f16, q4 -> q8): they are a large share of a small model's error for
 * a small share of a large model's bytes. Measured in the README ("Quantised weights").
 */
export const DEFAULT_PLANS: Readonly<Record<StorageDtype, WeightPlan>> = {
  f32: { dtype: 'f32', group: 0 },
  f16: { dtype: 'f16', group: 0 },
  q8: { dtype: 'q8', group: 16, embedding: 'f16', lmHead: 'f16' },
  q4: { dtype: 'q4', group: 32, embedding: 'q8', lmHead: 'q8' },
};

/**
 * A plan from CLI-style choices: the default plan for `dtype`, with any given override. Without a `group`, a plan
 * whose matrices are f32/f16 but with a quantised override (e.g. f16 with routed experts q8) takes that format's
 * default group.
 */
export function weightPlan(dtype: StorageDtype, overrides: Partial<Omit<WeightPlan, 'dtype'>> = {}): WeightPlan {
  const plan: WeightPlan = { ...DEFAULT_PLANS[dtype] };
  for (const [key, value] of Object.entries(overrides) as [keyof WeightPlan, never][]) {
    if (value !== undefined) plan[key] = value;
  }
  if (overrides.group === undefined && !isQuantised(dtype)) {
    const quantised = planFormats(plan).find(isQuantised);
    if (quantised) plan.group = DEFAULT_PLANS[quantised].group;
  }
  if (usesGroups(plan) && !(Number.isInteger(plan.group) && plan.group > 0 && plan.group % 8 === 0)) {
    throw new Error(`group size must be a positive multiple of 8, not ${plan.group}`);
  }
  return plan;
}

/** The formats `plan` stores matrices in: the matrices' own, then any override. */
function planFormats(plan: WeightPlan): StorageDtype[] {
  return [plan.dtype, plan.routedExperts, plan.embedding, plan.lmHead].filter((d): d is StorageDtype => d !== undefined);
}

const COARSENESS: readonly StorageDtype[] = ['f32', 'f16', 'q8', 'q4'];

/** The least precise format any matrix of `plan` is stored in (what `npm run verify` picks its bar by). */
export function coarsestFormat(plan: WeightPlan): StorageDtype {
  return planFormats(plan).reduce((a, b) => (COARSENESS.indexOf(b) > COARSENESS.indexOf(a) ? b : a));
}

function usesGroups(plan: WeightPlan): boolean {
  return planFormats(plan).some(isQuantised);
}

export function tensorClass(name: string, shape: readonly number[]): TensorClass {
  if (shape.length < 2) return 'vector';
  if (name === 'model.embed_tokens.weight') return 'embedding';
  if (name === 'lm_head.weight') return 'lmHead';
  if (/\.mlp\.gate\.weight$/.test(name)) return 'router';
  if (/\.indexer\.(wk|weights_proj)\.weight$/.test(name)) return 'indexerKey';
  if (/\.kv_b_proj\.weight$/.test(name)) return 'kvUp';
  if (/\.mlp\.experts\./.test(name)) return 'experts';
  return 'matrix';
}

/** Storage format and group size of one tensor under `plan`. */
export function storageFor(name: string, shape: readonly number[], plan: WeightPlan): { dtype: StorageDtype; group: number } {
  let dtype: StorageDtype;
  switch (tensorClass(name, shape)) {
    case 'vector':
    case 'router':
    case 'indexerKey':
      dtype = 'f32';
      break;
    case 'kvUp':
      dtype = plan.dtype === 'f32' ? 'f32' : 'f16';
      break;
    case 'embedding':
      dtype = plan.embedding ?? plan.dtype;
      break;
    case 'lmHead':
      dtype = plan.lmHead ?? plan.dtype;
      break;
    case 'experts':
      dtype = plan.routedExperts ?? plan.dtype;
      break;
    default:
      dtype = plan.dtype;
  }
  return { dtype, group: isQuantised(dtype) ? plan.group : 0 };
}

/** Short description for reports and manifests, e.g. "q4 g32 (embedding q8, lm_head q8)", "f16 (routed experts q8 g16)". */
export function describePlan(plan: WeightPlan): string {
  const head = isQuantised(plan.dtype) ? `${plan.dtype} g${plan.group}` : plan.dtype;
  const routed = plan.routedExperts;
  const extra = [
    routed && routed !== plan.dtype ? `routed experts ${routed}${isQuantised(routed) && !isQuantised(plan.dtype) ? ` g${plan.group}` : ''}` : '',
    plan.embedding && plan.embedding !== plan.dtype ? `embedding ${plan.embedding}` : '',
    plan.lmHead && plan.lmHead !== plan.dtype ? `lm_head ${plan.lmHead}` : '',
  ].filter(Boolean);
  return extra.length ? `${head} (${extra.join(', ')})` : head;
}
