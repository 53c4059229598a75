// The GPU context every kernel driver builds on: a pipeline cache keyed by (shader, entry point, defines), bind
// group creation with bindings in declaration order, and the per-step uniform (shaders/common/step.wgsl) that all
// kernels read at binding 0. Pipelines use layout 'auto'; a kernel's bind group is made once and reused each token.
// Pipelines are cached per device, not per context: a model rebuilt on the same device (another conversation's
// model of the same shape, a reload after changing settings, each test) compiles nothing again.
import {
  checkPackedShape, MATMUL_THREAD_ROWS, MATVEC_SHAPES, PACKED_KERNEL_SHAPES, PACKED_MATVEC_SHAPES, ROWS_KERNELS,
  type MatmulThreadRows, type MatvecKind, type MatvecShape, type PackedKernel, type PackedMatvecShape, type RowsKernel,
} from '../kernels/matvec-shape';
import { createStorage } from './buffers';
import { isCpuDevice } from './device';
import { subgroupMinSize } from './subgroups';
import { preprocessWgsl, type Defines } from './preprocess';
import { WGSL_INCLUDES } from './wgsl-includes';

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

/** One recorded GPU operation: `encode` adds its dispatch(es) for a step of `rows` token rows. */
export interface KernelCall {
  readonly name: string;
  encode(pass: GPUComputePassEncoder, rows: number): void;
}

export const STEP_BYTES = 16;

export class GpuContext {
  readonly device: GPUDevice;
  readonly step: GPUBuffer;
  /**
   * Which adapter kind's thread layouts the other kernels (norms, MLA, routing) follow: the matrix-vector shape's
   * (one thread per row means the CPU layouts), so a test that picks a matvec shape picks theirs too.
   */
  readonly layout: MatvecKind;
  /** Matrix-vector thread layout: by adapter kind unless the caller (a test) picks one. */
  readonly matvec: MatvecShape;
  /**
   * Packed-chunk matrix-vector thread layout (f16/q8/q4 decode): by adapter kind unless the caller picks one;
   * null turns the packed kernels off (element-pair kernels everywhere: the benchmark's baseline).
   */
  readonly packedMatvec: PackedMatvecShape | null;
  /** The projections' kernel for steps of several rows: by adapter kind unless the caller (a test) picks one. */
  readonly rowsKernel: RowsKernel;
  /** Token rows per thread of the tiled matmuls: MATMUL_THREAD_ROWS unless the caller (a test) picks. */
  readonly matmulThreadRows: MatmulThreadRows;
  /**
   * The least subgroup size where the reductions use subgroup operations (every pipeline then gets SUBGROUPS and
   * SUBGROUP_MIN: gpu/subgroups.ts); null: workgroup-memory trees.
   */
  readonly subgroupMin: number | null;
  private readonly packedByKernel: Partial<Record<PackedKernel, PackedMatvecShape>>;
  private readonly pipelines: Map<string, GPUComputePipeline>;
  private readonly scratchBuffers = new Map<string, GPUBuffer>();
  private readonly stepData = new Uint32Array(4);

  /** `kind`: the adapter kind whose layouts to use (default this adapter's); the other options override one part. */
  constructor(device: GPUDevice, options: {
    kind?: MatvecKind; matvec?: MatvecShape; packedMatvec?: PackedMatvecShape | null; rowsKernel?: RowsKernel;
    matmulThreadRows?: MatmulThreadRows; subgroups?: boolean;
  } = {}) {
    this.device = device;
    const kind = options.kind ?? (isCpuDevice(device) ? 'cpu' : 'gpu');
    this.matvec = options.matvec ?? MATVEC_SHAPES[kind];
    this.layout = this.matvec.THREADS_PER_ROW === 1 ? 'cpu' : 'gpu';
    this.rowsKernel = options.rowsKernel ?? ROWS_KERNELS[kind];
    this.matmulThreadRows = options.matmulThreadRows ?? MATMUL_THREAD_ROWS;
    this.packedMatvec = options.packedMatvec === undefined ? PACKED_MATVEC_SHAPES[kind] : options.packedMatvec;
    // A layout the caller picks applies to every packed kernel; otherwise the adapter kind's per-kernel table.
    this.packedByKernel = options.packedMatvec === undefined ? PACKED_KERNEL_SHAPES[kind] : {};
    for (const shape of [this.packedMatvec, ...Object.values(this.packedByKernel)]) if (shape) checkPackedShape(shape);
    this.subgroupMin = options.subgroups === false ? null : subgroupMinSize(device);
    this.pipelines = devicePipelines(device);
    this.step = device.createBuffer({ label: 'step', size: STEP_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  /** The packed-chunk layout of `kernel` (null: packed kernels off). */
  packedShapeFor(kernel: PackedKernel): PackedMatvecShape | null {
    return this.packedMatvec && (this.packedByKernel[kernel] ?? this.packedMatvec);
  }

  /**
   * The step last written: calls encoded after it may size their dispatches by it (the attention launches only the
   * key shares its longest row has; the kernels still read the uniform, so a larger grid would give the same result).
   */
  get lastStep(): { rows: number; pos0: number; sparse: boolean } {
    return { rows: this.stepData[0], pos0: this.stepData[1], sparse: this.stepData[3] === 1 };
  }

  /** Sets the step parameters for the next submit (queue-ordered with it). */
  writeStep(rows: number, pos0: number, sparse: boolean): void {
    this.stepData.set([rows, pos0, pos0 + rows, sparse ? 1 : 0]);
    this.device.queue.writeBuffer(this.step, 0, this.stepData);
  }

  /**
   * The pipeline of `source` with `kernelDefines` (plus SUBGROUPS / SUBGROUP_MIN where subgroup reductions are on,
   * unless `subgroups` is false: a kernel measured faster without them).
   */
  pipeline(shaderName: string, source: string, kernelDefines: Defines, entryPoint = 'main', subgroups = true): GPUComputePipeline {
    const defines = this.subgroupMin && subgroups ? { ...kernelDefines, SUBGROUPS: true, SUBGROUP_MIN: this.subgroupMin } : kernelDefines;
    const key = `${shaderName}:${entryPoint}:${JSON.stringify(Object.entries(defines).sort(([a], [b]) => a.localeCompare(b)))}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      const code = preprocessWgsl(source, defines, WGSL_INCLUDES);
      const module = this.device.createShaderModule({ label: shaderName, code });
      pipeline = this.device.createComputePipeline({ label: `${shaderName}.${entryPoint}`, layout: 'auto', compute: { module, entryPoint } });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /**
   * A storage buffer of at least `bytes` shared by every kernel that asks for `name` on this context: for data that
   * lives only from one dispatch of a call to the next (a split matmul's partial sums), where the dispatches of a
   * pass run in order, so one buffer serves every call. A larger request replaces it; bind groups made earlier keep
   * the old one, which still fits them.
   */
  scratchBuffer(name: string, bytes: number): GPUBuffer {
    let buffer = this.scratchBuffers.get(name);
    if (!buffer || buffer.size < bytes) {
      buffer = createStorage(this.device, bytes, name);
      this.scratchBuffers.set(name, buffer);
    }
    return buffer;
  }

  /** Bind group 0 with `bindings[i]` at binding i. */
  bindGroup(pipeline: GPUComputePipeline, bindings: Binding[], label?: string): GPUBindGroup {
    return this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: bindings.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
    });
  }

  /** Pipelines compiled on this device so far (shared by every context on it). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }
}

const PIPELINES_BY_DEVICE = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function devicePipelines(device: GPUDevice): Map<string, GPUComputePipeline> {
  let pipelines = PIPELINES_BY_DEVICE.get(device);
  if (!pipelines) {
    pipelines = new Map();
    PIPELINES_BY_DEVICE.set(device, pipelines);
  }
  return pipelines;
}

/** A KernelCall for a single-pipeline kernel whose workgroup count depends only on the step's rows. */
export function simpleCall(name: string, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup,
  workgroups: (rows: number) => [number, number?, number?]): KernelCall {
  return {
    name,
    encode(pass, rows) {
      const [x, y = 1, z = 1] = workgroups(rows);
      if (x === 0 || y === 0 || z === 0) return;
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
    },
  };
}

/** Dispatches `calls` record for a step of `rows` rows, counted without a GPU pass. */
export function countDispatches(calls: readonly KernelCall[], rows: number): number {
  let dispatches = 0;
  const probe = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups() { dispatches++; } };
  for (const call of calls) call.encode(probe as unknown as GPUComputePassEncoder, rows);
  return dispatches;
}

/** Calls encoded one after another as one call of the first one's name (profiles count its dispatches together). */
export function sequence(calls: KernelCall[]): KernelCall {
  return {
    name: calls[0].name,
    encode(pass, rows) {
      for (const call of calls) call.encode(pass, rows);
    },
  };
}

/**
 * One call that encodes `single` for steps where `useSingle(rows)`, else the calls of `several` in order (a decode
 * fast path beside the prefill path).
 */
export function byRows(useSingle: (rows: number) => boolean, single: KernelCall, several: KernelCall[]): KernelCall {
  return {
    name: single.name,
    encode(pass, rows) {
      if (useSingle(rows)) single.encode(pass, rows);
      else for (const call of several) call.encode(pass, rows);
    },
  };
}
