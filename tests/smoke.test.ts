import { describe, expect, it } from 'vitest';
import { testDevice } from './support/gpu';

describe('webgpu in node', () => {
  it('creates a device with the adapter limits and no shader-f16 requirement', async () => {
    const { device, limits } = await testDevice();
    expect(device).toBeTruthy();
    expect(limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
  });
});
