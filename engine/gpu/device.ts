// Creates the GPUDevice the engine runs on, from any `GPU` object (navigator.gpu in a browser or worker, Dawn's in
// Node). It asks for the adapter's own limits rather than WebGPU's defaults (storage bindings of 1-2 GiB instead
// of 128 MiB on real GPUs) and never requires `shader-f16`: every kernel works on f32 and packed u32 words. The
// device's maxStorageBufferBindingSize and maxBufferSize decide which weights are split across buffers
// (weights/split-weight.ts `weightBufferLimit`). It turns on 'subgroups' where the adapter has it and the layout
// probe passes (gpu/subgroups.ts).
import { EngineError } from '../errors';
import { probeSubgroups } from './subgroups';

export interface EngineDevice {
  device: GPUDevice;
  adapterInfo: string;
  limits: GPUSupportedLimits;
  /** A software adapter (SwiftShader and the like): kernels pick shapes that suit a CPU. */
  cpu: boolean;
  /** Whether the kernels' reductions use subgroup operations (gpu/subgroups.ts); false: the workgroup-memory trees. */
  subgroups: boolean;
}

const CPU_DEVICES = new WeakSet<GPUDevice>();
const CPU_ADAPTER = /swiftshader|llvmpipe|lavapipe|microsoft basic render|warp/i;

/** Whether `device` came from a software (CPU) adapter, as createEngineDevice found it. */
export function isCpuDevice(device: GPUDevice): boolean {
  return CPU_DEVICES.has(device);
}

export interface EngineDeviceOptions {
  /** Features to turn on where the adapter has them (e.g. the benchmark's 'timestamp-query'); none by default. */
  optionalFeatures?: GPUFeatureName[];
  /** false: leave 'subgroups' off even where the adapter has it (the reductions' fallback). */
  subgroups?: boolean;
  /**
   * true: WebGPU's default limits instead of the adapter's (8 storage buffers a stage, 16 KiB of workgroup memory,
   * 256 threads a workgroup, 128 MiB bindings): the smallest device the engine must run on, for tests.
   */
  defaultLimits?: boolean;
}

export async function createEngineDevice(gpu: GPU | undefined, options: EngineDeviceOptions = {}): Promise<EngineDevice> {
  if (!gpu) {
    throw new EngineError('NO_WEBGPU', 'This browser has no WebGPU. Use a recent Chrome or Edge, or enable WebGPU in the browser settings.');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new EngineError('NO_WEBGPU', 'WebGPU is present but no GPU adapter is available. Update the GPU driver or enable hardware acceleration.');
  }
  const requiredLimits: Record<string, number> = {};
  if (!options.defaultLimits) {
    for (const key in adapter.limits) {
      const value = (adapter.limits as unknown as Record<string, unknown>)[key];
      if (typeof value === 'number') requiredLimits[key] = value;
    }
  }
  const wanted: GPUFeatureName[] = [...(options.optionalFeatures ?? []), ...(options.subgroups === false ? [] : ['subgroups' as GPUFeatureName])];
  const requiredFeatures = [...new Set(wanted)].filter((feature) => adapter.features.has(feature));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const adapterInfo = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ');
  const fallback = (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true;
  const cpu = fallback || CPU_ADAPTER.test(adapterInfo);
  if (cpu) CPU_DEVICES.add(device);
  const minSize = (info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize;
  const subgroups = await probeSubgroups(device, minSize);
  return { device, adapterInfo, limits: device.limits, cpu, subgroups };
}
