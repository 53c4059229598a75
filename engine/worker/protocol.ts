// The plain data that crosses the worker boundary between the UI (app/) and the engine worker (engine/worker.ts).
// Only types live here: the API object itself is defined once in engine/worker.ts and the UI takes its type from
// there (`EngineApi = typeof engineApi`). Everything here is structured-clone friendly (no classes, no functions).
import type { EngineErrorCode } from '../errors';

/** An engine error as it crosses the boundary: the UI picks its banner and next step by `code`. */
export interface EngineErrorInfo {
  code: EngineErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** What the worker found about WebGPU in this browser. */
export interface AdapterReport {
  adapter: string; // vendor / architecture / description
  cpu: boolean; // software adapter (SwiftShader...)
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/** A model the app can load; bundled ones come from /models/index.json, others from a URL or a picked folder. */
export interface ModelEntry {
  id: string; // stable key: the package folder name
  name: string; // the manifest's name
  url: string; // URL prefix holding manifest.json and the shards (absolute or relative to the page); '' for a folder
  label: string; // e.g. 'random weights'
  family: string; // deepseek_v2 | deepseek_v3 | deepseek_v32
  quantisation: string;
  bytes: number;
  bundled: boolean;
}

/**
 * 'download': shards being stored into IndexedDB (bytes stored or received of the package's shard bytes, with the
 * recent rate and the time left at it); then the load phases, in bytes of tensors read from storage.
 */
export interface LoadProgress {
  phase: 'download' | 'manifest' | 'tokenizer' | 'weights' | 'compile';
  loadedBytes: number;
  totalBytes: number;
  bytesPerSecond?: number; // download only
  secondsLeft?: number; // download only, when a rate is known
}

/** The page's navigator.storage.estimate() (workers may see another figure in tests; the page's is what counts). */
export interface StorageFacts {
  quota: number;
  usage: number;
}

/** Options of a load that may first download the package into IndexedDB. */
export interface LoadOptions {
  storage?: StorageFacts; // default: the worker's own navigator.storage.estimate()
}

/** A model package stored in IndexedDB (complete or partly downloaded). */
export interface StoredModelInfo {
  entry: ModelEntry;
  origin: 'url' | 'folder';
  storedBytes: number; // shard bytes stored so far
  totalBytes: number; // shard bytes of the whole package
  complete: boolean;
}

/** The loaded model, as the UI shows it. */
export interface LoadedModelInfo {
  id: string;
  name: string;
  label: string;
  family: string;
  hasIndexer: boolean; // V3.2 with a DSA indexer: the attention toggle is shown
  maxContext: number;
  latentBytesPerToken: number; // f32 latent cache row per token, all layers (what the GPU holds)
  fullKvBytesPerToken: number; // per-head K and V for all layers at f16, for comparison
  /** Bytes per token of a saved latent cache in each storage format (engine/kv/kv-bytes.ts). */
  storedBytesPerToken?: Record<KvStorageFormat, number>;
  adapter: AdapterReport;
}

export interface SamplingRequest {
  temperature: number; // 0 = greedy
  topP: number;
  topK: number; // 0 = off
  repetitionPenalty: number;
  maxNewTokens: number;
  seed?: number; // u32; random when absent
}

export type AttentionChoice = 'sparse' | 'dense';

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  conversationId: string;
  messages: ChatTurn[]; // the whole conversation so far, system prompt first, ending with the user's message
  sampling: SamplingRequest;
  attention: AttentionChoice; // ignored (dense) when the model has no indexer
}

/** Streamed while generating: `delta` is new display text (never half a UTF-8 character). */
export interface TokenEvent {
  delta: string;
  generatedTokens: number;
}

export interface DecodeTiming {
  contextTokens: number;
  ms: number;
}

export interface ChatStats {
  prefillTokens: number; // tokens actually run through prefill for this answer (cached prefix excluded)
  reusedTokens: number; // prompt tokens served from the conversation's latent cache
  restoredTokens?: number; // of those, rows restored from the stored (IndexedDB) cache for this answer
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  timeToFirstTokenMs: number;
  generatedTokens: number;
  contextTokens: number; // tokens in the latent cache after the answer
  latentKvBytes: number; // latent cache bytes of this conversation (contextTokens * latentBytesPerToken)
  fullKvBytes: number; // what full per-head K/V would take for the same tokens
  attention: AttentionChoice;
  decodeSeries: DecodeTiming[];
  dispatchesPerToken: number;
  submitsPerToken: number;
}

/** Storage format of saved latent cache rows: f16, or int8 codes with one f32 scale per row part (compressed). */
export type KvStorageFormat = 'f16' | 'int8';

/** Stored latent cache settings (engine/kv/stored-caches.ts); absent fields keep their value. */
export interface KvCacheOptions {
  encoding?: KvStorageFormat; // storage format of saved rows (default f16)
  storedBudgetBytes?: number; // cap on all conversations' stored rows (default 512 MiB); lowering it evicts at once
  gpuBudgetBytes?: number; // cap on inactive conversations' GPU copies (default 256 MiB); lowering it frees at once
}

/** One conversation's stored latent cache: its bytes, the tokens it encodes and the formats its chunks use. */
export interface StoredCacheInfo {
  bytes: number;
  tokens: number;
  encodings: KvStorageFormat[];
}

export type FinishReason = 'stop' | 'length' | 'context' | 'abort';

export interface ChatResult {
  text: string;
  finishReason: FinishReason;
  stats: ChatStats;
}
