// The group rule for keeping N of E routed experts (engine/convert/expert-groups.ts) and the per-group choice
// by score, on the routing settings of real DeepSeek models and of the fixtures.
import { describe, expect, it } from 'vitest';
import { checkKeep, chooseByScore, reducedRouting } from '../../engine/convert/expert-groups';
import type { ModelConfig } from '../../engine/config';
import { isEngineError } from '../../engine/errors';

type Routing = Pick<ModelConfig, 'nRoutedExperts' | 'numExpertsPerTok' | 'nGroup' | 'topkGroup' | 'topkMethod'>;
const V3: Routing = { nRoutedExperts: 256, numExpertsPerTok: 8, nGroup: 8, topkGroup: 4, topkMethod: 'noaux_tc' };
const V2_236B: Routing = { nRoutedExperts: 160, numExpertsPerTok: 6, nGroup: 8, topkGroup: 3, topkMethod: 'group_limited_greedy' };
const V2_LITE: Routing = { nRoutedExperts: 64, numExpertsPerTok: 6, nGroup: 1, topkGroup: 1, topkMethod: 'greedy' };

describe('reducedRouting (the group rule)', () => {
  it('keeps every field when all experts are kept', () => {
    for (const c of [V3, V2_236B, V2_LITE]) {
      expect(reducedRouting(c, c.nRoutedExperts)).toEqual({ nGroup: c.nGroup, topkGroup: c.topkGroup, numExpertsPerTok: c.numExpertsPerTok });
    }
  });

  it('keeps the groups when N divides evenly, raising topk_group so the kept groups hold k experts', () => {
    expect(reducedRouting(V3, 64)).toEqual({ nGroup: 8, topkGroup: 4, numExpertsPerTok: 8 }); // 8 per group
    expect(reducedRouting(V3, 16)).toEqual({ nGroup: 8, topkGroup: 4, numExpertsPerTok: 8 }); // 2 per group: 4·2 = 8
    expect(reducedRouting(V2_236B, 16)).toEqual({ nGroup: 8, topkGroup: 3, numExpertsPerTok: 6 }); // 3·2 = 6
    expect(reducedRouting(V2_236B, 8)).toEqual({ nGroup: 8, topkGroup: 6, numExpertsPerTok: 6 }); // 1 per group
  });

  it('collapses to one group when N does not divide, or noaux_tc groups would hold fewer than 2', () => {
    expect(reducedRouting(V3, 100)).toEqual({ nGroup: 1, topkGroup: 1, numExpertsPerTok: 8 });
    expect(reducedRouting(V3, 8)).toEqual({ nGroup: 1, topkGroup: 1, numExpertsPerTok: 8 }); // 1 per group
    expect(reducedRouting(V2_236B, 12)).toEqual({ nGroup: 1, topkGroup: 1, numExpertsPerTok: 6 });
  });

  it('lowers k to N when fewer experts than k remain, and greedy routing never has groups', () => {
    expect(reducedRouting(V3, 4)).toEqual({ nGroup: 1, topkGroup: 1, numExpertsPerTok: 4 });
    expect(reducedRouting(V2_LITE, 3)).toEqual({ nGroup: 1, topkGroup: 1, numExpertsPerTok: 3 });
    expect(reducedRouting({ ...V2_LITE, nGroup: 4, topkGroup: 2 }, 32)).toEqual({ nGroup: 1, topkGroup: 1, numExpertsPerTok: 6 });
  });

  it('always gives topk_group × experts per group >= k (the config check) over every N of V3 and V2-236B', () => {
    for (const c of [V3, V2_236B]) {
      for (let keep = 1; keep <= c.nRoutedExperts; keep++) {
        const r = reducedRouting(c, keep);
        expect(keep % r.nGroup).toBe(0);
        expect(r.topkGroup).toBeLessThanOrEqual(r.nGroup);
        expect(r.topkGroup * (keep / r.nGroup)).toBeGreaterThanOrEqual(r.numExpertsPerTok);
        if (c.topkMethod === 'noaux_tc' && r.nGroup > 1) expect(keep / r.nGroup).toBeGreaterThanOrEqual(2);
      }
    }
  });
});

describe('chooseByScore', () => {
  const scores = [0.1, 0.9, 0.8, 0.0, 0.5, 0.4, 0.7, 0.6]; // 8 experts

  it('keeps the best N overall when the groups collapse, ascending ids', () => {
    expect(chooseByScore(scores, 3, { nGroup: 1, topkGroup: 1, numExpertsPerTok: 2 })).toEqual([1, 2, 6]);
  });

  it('keeps the best of each group when groups are kept, even over better experts of other groups', () => {
    // groups {0,1} {2,3} {4,5} {6,7}: one each -> 1, 2, 4, 6 (7 = 0.6 loses to 6 in its group, beats 4)
    expect(chooseByScore(scores, 4, { nGroup: 4, topkGroup: 2, numExpertsPerTok: 2 })).toEqual([1, 2, 4, 6]);
    expect(chooseByScore(scores, 4, { nGroup: 2, topkGroup: 1, numExpertsPerTok: 2 })).toEqual([1, 2, 6, 7]);
  });

  it('breaks ties towards the lower id', () => {
    expect(chooseByScore([0, 0, 0, 0], 2, { nGroup: 1, topkGroup: 1, numExpertsPerTok: 2 })).toEqual([0, 1]);
  });
});

describe('checkKeep', () => {
  const config = { nRoutedExperts: 8 } as ModelConfig;
  it.each([0, 9, 2.5, Number.NaN, -1])('rejects keep = %s with BAD_CHECKPOINT naming the range', (keep) => {
    let error: unknown;
    try {
      checkKeep(config, keep);
    } catch (e) {
      error = e;
    }
    expect(isEngineError(error, 'BAD_CHECKPOINT')).toBe(true);
    expect((error as Error).message).toContain('from 1 to n_routed_experts (8)');
  });
  it('accepts 1..E', () => {
    for (let keep = 1; keep <= 8; keep++) expect(() => checkKeep(config, keep)).not.toThrow();
  });
});
