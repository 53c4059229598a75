// Loads a model package onto an engine device for chatting: the tokenizer from the package's own files, the
// weights through DeepseekForward.create with the plan the manifest records, with progress in bytes of tensors
// read and uploaded, then one warm-up step so the kernels are compiled before the first answer. Before uploading,
// the model's tensors are checked against the adapter's buffer limits (weights/buffer-limits.ts: tensors over the
// limit are split by rows, so one row must fit; kv_b_proj and the stacked experts must fit whole; ADAPTER_LIMITS
// says what is needed and what the adapter allows), and any validation or out-of-memory error while building is
// reported as ADAPTER_LIMITS too, not as a broken model.
// maxContext: min(max_position_embeddings, 4096) on GPUs, min(.., 2048) on CPU adapters (SwiftShader keeps the
// latent cache in system memory, and prefilling thousands of tokens on a CPU takes minutes anyway). Prefill runs
// in chunks of 256 rows on GPUs (PREFILL_ROWS) and 16 on CPU adapters, where the projections run matrix-vector per row (no tiled
// matmul barriers) and lm_head only for the last row: bench/prefill-cpu.ts on SwiftShader (interleaved runs), a
// 64-token prompt reached its first token in 2.4-2.6 s in chunks of 16 against 3.3-4.1 s one row per step; a
// 16-token prompt in 0.8-1.3 s either way (18.7 s one row per step before lm_head ran for the last row only).
import { EngineError, badManifest } from '../errors';
import type { EngineDevice } from '../gpu/device';
import type { ModelIdentity } from '../kv/conversation-caches';
import { kvBytesPerToken } from '../kv/kv-bytes';
import { DeepseekForward } from '../model/forward';
import type { PackageManifest } from '../package/manifest';
import { ChatTokenizer, type TokenizerFiles } from '../tokenizer/chat-tokenizer';
import { checkBufferLimits } from '../weights/buffer-limits';
import { expectedTensors } from '../weights/expected-tensors';
import { weightBufferLimit } from '../weights/split-weight';
import type { TensorSource } from '../weights/tensor-source';
import type { LoadProgress, ModelEntry } from './protocol';

export const GPU_MAX_CONTEXT = 4096;
export const CPU_MAX_CONTEXT = 2048;
export const CPU_PREFILL_ROWS = 16;

/** What a loader needs of a package, wherever it is stored (HTTP here; IndexedDB or a Node folder elsewhere). */
export interface ModelPackage {
  manifest: PackageManifest;
  source: TensorSource;
  readTokenizerFiles(): Promise<TokenizerFiles>;
}

export interface LoadedModel {
  model: DeepseekForward;
  tokenizer: ChatTokenizer;
  maxContext: number;
  hasIndexer: boolean;
  latentBytesPerToken: number;
  fullKvBytesPerToken: number;
  identity: ModelIdentity; // name + SHA-256 of the manifest (its JSON as parsed): stored caches match on it
}

/** The model identity stored caches are tied to: the manifest's name and the SHA-256 of its JSON. */
export async function modelIdentity(manifest: PackageManifest): Promise<ModelIdentity> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(manifest)));
  return { name: manifest.name, manifestHash: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('') };
}

export function maxContextFor(manifest: PackageManifest, cpu: boolean): number {
  return Math.min(manifest.config.maxPositionEmbeddings, cpu ? CPU_MAX_CONTEXT : GPU_MAX_CONTEXT);
}

function checkLimits(manifest: PackageManifest, engine: EngineDevice): void {
  checkBufferLimits(manifest.name, manifest.tensors, weightBufferLimit(engine.device));
}

/** The source with each tensor's first read counted into the progress (bytes as stored in the package). */
function countingSource(source: TensorSource, manifest: PackageManifest, report: (loadedBytes: number) => void): TensorSource {
  const sizes = new Map(manifest.tensors.map((t) => [t.name, t.nbytes]));
  const counted = new Set<string>();
  let loaded = 0;
  const count = (name: string) => {
    if (counted.has(name)) return;
    counted.add(name);
    loaded += sizes.get(name) ?? 0;
    report(loaded);
  };
  const readPacked = source.readPacked;
  return {
    ...source,
    readF32: async (name) => { const values = await source.readF32(name); count(name); return values; },
    readPacked: readPacked && (async (name) => { const packed = await readPacked.call(source, name); count(name); return packed; }),
  };
}

/** Runs `build` inside error scopes: a GPU validation or out-of-memory error becomes ADAPTER_LIMITS. */
async function withinLimits<T>(device: GPUDevice, what: string, build: () => Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let result: T;
  try {
    result = await build();
  } finally {
    const memory = await device.popErrorScope();
    const validation = await device.popErrorScope();
    const error = memory ?? validation;
    if (error) {
      throw new EngineError('ADAPTER_LIMITS',
        `The GPU refused ${what} (${error.message.split('\n')[0]}). Pick a smaller model or close other tabs that use the GPU, then load again.`,
        { gpuError: error.message });
    }
  }
  return result;
}

export async function loadModelPackage(engine: EngineDevice, pkg: ModelPackage, entry: ModelEntry,
  onProgress: (progress: LoadProgress) => void = () => {}): Promise<LoadedModel> {
  const { manifest } = pkg;
  const expected = new Set(expectedTensors(manifest.config).map((t) => t.name));
  const totalBytes = manifest.tensors.filter((t) => expected.has(t.name)).reduce((sum, t) => sum + t.nbytes, 0);
  onProgress({ phase: 'manifest', loadedBytes: 0, totalBytes });
  checkLimits(manifest, engine);

  onProgress({ phase: 'tokenizer', loadedBytes: 0, totalBytes });
  const tokenizer = new ChatTokenizer(await pkg.readTokenizerFiles());
  if (tokenizer.vocabSize > manifest.config.vocabSize) {
    throw badManifest(entry.url, 'config.vocabSize', `at least the tokenizer's ${tokenizer.vocabSize} ids`, String(manifest.config.vocabSize));
  }

  const maxContext = maxContextFor(manifest, engine.cpu);
  const source = countingSource(pkg.source, manifest, (loadedBytes) => {
    onProgress({ phase: loadedBytes >= totalBytes ? 'compile' : 'weights', loadedBytes, totalBytes });
  });
  const model = await withinLimits(engine.device, `the buffers of ${manifest.name}`, async () => {
    const built = await DeepseekForward.create(engine.device, source, {
      weights: manifest.quantisation.plan, maxContext, maxRows: engine.cpu ? CPU_PREFILL_ROWS : undefined,
    });
    await built.prefillLast([tokenizer.tokenizer.bos_token_id ?? 0]); // compiles and runs generation's kernels once
    built.reset();
    return built;
  });
  onProgress({ phase: 'compile', loadedBytes: totalBytes, totalBytes });
  return {
    model,
    tokenizer,
    maxContext,
    hasIndexer: manifest.config.indexer !== null,
    latentBytesPerToken: kvBytesPerToken(manifest.config).latentF32,
    fullKvBytesPerToken: kvBytesPerToken(manifest.config).expandedKvF16,
    identity: await modelIdentity(manifest),
  };
}
