// Multi-head Latent Attention over a latent cache, float64, in both forms of deepseek-math.md §3.2–3.3.
// Shapes: q [T, nH, dN+dR] (RoPE already applied to the last dR of each head), latentCache [L, rKV+dR] (per
// token the RMS-normalised latent c then the rotated shared RoPE key kR), kvB = kv_b_proj [nH·(dN+dV), rKV]
// (head h: rows [h(dN+dV), h(dN+dV)+dN) are W_UK, the next dV rows W_UV), output [T, nH·dV] head-major (the
// o_proj input). Query row t sits at absolute position pos0+t and sees cached keys u ≤ pos0+t (u < L) for which
// `allowed(t, u)` holds (the DSA top-k mask; default all). Masked keys get probability exactly 0.

import { softmax } from './ops-core';

export interface MlaAttentionArgs {
  q: ArrayLike<number>; // [T, nH, dN+dR]
  latentCache: ArrayLike<number>; // [L, rKV+dR]; L = latentCache.length / (rKV+dR)
  kvB: ArrayLike<number>; // [nH·(dN+dV), rKV]
  T: number;
  nH: number;
  dN: number;
  dR: number;
  dV: number;
  rKV: number;
  pos0: number; // absolute position of query row 0
  scale: number; // τ, the softmax scale (mlaSoftmaxScale)
  allowed?: (t: number, u: number) => boolean; // extra mask on top of causal u ≤ pos0+t
}

/** Softmax over the keys query row t may see; masked keys are −∞ so they get probability 0. [L] */
function attentionProbs(args: MlaAttentionArgs, t: number, score: (u: number) => number): Float64Array {
  const L = args.latentCache.length / (args.rKV + args.dR);
  const logits = new Float64Array(L);
  for (let u = 0; u < L; u++) {
    const visible = u <= args.pos0 + t && (args.allowed ? args.allowed(t, u) : true);
    logits[u] = visible ? args.scale * score(u) : -Infinity;
  }
  return softmax(logits);
}

/** Absorbed form (§3.3): q̂ = W_UKᵀ·qN, score τ(q̂·c + qR·kR), ô = Σ P·c, o = W_UV·ô. Returns [T, nH·dV]. */
export function mlaAttentionAbsorbed(args: MlaAttentionArgs): Float64Array {
  const { q, latentCache, kvB, T, nH, dN, dR, dV, rKV } = args;
  const dQK = dN + dR;
  const width = rKV + dR; // one cached token
  const L = latentCache.length / width;
  const out = new Float64Array(T * nH * dV);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nH; h++) {
      const qBase = (t * nH + h) * dQK;
      const ukRow0 = h * (dN + dV); // first W_UK row of head h
      const qHat = new Float64Array(rKV); // [rKV]
      for (let d = 0; d < dN; d++) {
        const qn = q[qBase + d];
        for (let r = 0; r < rKV; r++) qHat[r] += kvB[(ukRow0 + d) * rKV + r] * qn;
      }
      const probs = attentionProbs(args, t, (u) => {
        let s = 0;
        for (let r = 0; r < rKV; r++) s += qHat[r] * latentCache[u * width + r];
        for (let i = 0; i < dR; i++) s += q[qBase + dN + i] * latentCache[u * width + rKV + i];
        return s;
      });
      const oHat = new Float64Array(rKV); // [rKV] probability-weighted latent
      for (let u = 0; u < L; u++) {
        if (probs[u] === 0) continue;
        for (let r = 0; r < rKV; r++) oHat[r] += probs[u] * latentCache[u * width + r];
      }
      for (let v = 0; v < dV; v++) {
        const uvRow = ukRow0 + dN + v;
        let acc = 0;
        for (let r = 0; r < rKV; r++) acc += kvB[uvRow * rKV + r] * oHat[r];
        out[(t * nH + h) * dV + v] = acc;
      }
    }
  }
  return out;
}

/** Naive form (HF, §3.2): expand kN_h = W_UK·c and v_h = W_UV·c per cached token, then ordinary attention. */
export function mlaAttentionNaive(args: MlaAttentionArgs): Float64Array {
  const { q, latentCache, kvB, T, nH, dN, dR, dV, rKV } = args;
  const dQK = dN + dR;
  const width = rKV + dR;
  const L = latentCache.length / width;
  // Expanded keys [L, nH, dN] and values [L, nH, dV].
  const keysNope = new Float64Array(L * nH * dN);
  const values = new Float64Array(L * nH * dV);
  for (let u = 0; u < L; u++) {
    for (let h = 0; h < nH; h++) {
      for (let j = 0; j < dN + dV; j++) {
        const row = h * (dN + dV) + j;
        let acc = 0;
        for (let r = 0; r < rKV; r++) acc += kvB[row * rKV + r] * latentCache[u * width + r];
        if (j < dN) keysNope[(u * nH + h) * dN + j] = acc;
        else values[(u * nH + h) * dV + (j - dN)] = acc;
      }
    }
  }
  const out = new Float64Array(T * nH * dV);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nH; h++) {
      const qBase = (t * nH + h) * dQK;
      const probs = attentionProbs(args, t, (u) => {
        let s = 0;
        for (let d = 0; d < dN; d++) s += q[qBase + d] * keysNope[(u * nH + h) * dN + d];
        for (let i = 0; i < dR; i++) s += q[qBase + dN + i] * latentCache[u * width + rKV + i];
        return s;
      });
      for (let u = 0; u < L; u++) {
        if (probs[u] === 0) continue;
        for (let v = 0; v < dV; v++) out[(t * nH + h) * dV + v] += probs[u] * values[(u * nH + h) * dV + v];
      }
    }
  }
  return out;
}
