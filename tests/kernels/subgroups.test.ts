// Subgroup reductions' switch (engine/gpu/subgroups.ts): the device probe turns them on where the adapter has the
// 'subgroups' feature (SwiftShader has, 4 wide), a context can turn them off, and pipelines built with them on get
// `enable subgroups;` ahead of everything else. The kernels' results with and without them are checked in their own
// tests (rms-norm, packed-matvec's 4-lane layout, the GPU-layout golden run with subgroups off).
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { createNodeDevice } from '../../engine/gpu/node-gpu';
import { preprocessWgsl } from '../../engine/gpu/preprocess';
import { subgroupMinSize } from '../../engine/gpu/subgroups';
import { testDevice } from '../support/gpu';

describe('subgroup reductions', () => {
  it('are on where the adapter has the feature and the layout probe passes, with its least subgroup size', async () => {
    const engine = await testDevice();
    const has = engine.device.features.has('subgroups');
    expect(engine.subgroups).toBe(has);
    const ctx = new GpuContext(engine.device);
    if (has) {
      expect(ctx.subgroupMin).toBe(subgroupMinSize(engine.device));
      expect(ctx.subgroupMin).toBeGreaterThanOrEqual(4);
    } else {
      expect(ctx.subgroupMin).toBeNull();
    }
    expect(new GpuContext(engine.device, { subgroups: false }).subgroupMin).toBeNull();
  });

  it('stay off on a device created without them', async () => {
    const engine = await createNodeDevice({ subgroups: false });
    expect(engine.subgroups).toBe(false);
    expect(engine.device.features.has('subgroups')).toBe(false);
    expect(new GpuContext(engine.device).subgroupMin).toBeNull();
    engine.device.destroy();
  });

  it('put `enable subgroups;` before the constants only when SUBGROUPS is defined', () => {
    const source = '#ifdef SUBGROUPS\nfn f() {}\n#endif\n';
    const on = preprocessWgsl(source, { SUBGROUPS: true, SUBGROUP_MIN: 32, WG: 64 }, {});
    expect(on.split('\n')[0]).toBe('enable subgroups;');
    expect(on).toContain('const SUBGROUP_MIN: u32 = 32u;');
    expect(on).toContain('fn f() {}');
    const off = preprocessWgsl(source, { WG: 64 }, {});
    expect(off).not.toContain('enable');
    expect(off).not.toContain('fn f()');
  });
});
