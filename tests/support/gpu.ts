// One GPUDevice per test file (Dawn in Node), created lazily and shared by the file's tests.
import { createNodeDevice } from '../../engine/gpu/node-gpu';
import type { EngineDevice } from '../../engine/gpu/device';

let pending: Promise<EngineDevice> | undefined;

export function testDevice(): Promise<EngineDevice> {
  pending ??= createNodeDevice();
  return pending;
}
