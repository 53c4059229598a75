// The engine's Web Worker: the one object the UI talks to, through Comlink. The UI's type for it is
// `EngineApi = typeof engineApi`, taken from this module, so the API is written once. Tokens stream through a
// Comlink.proxy callback; errors cross as EngineErrorInfo (engine/worker/error-transfer.ts). The state and the
// logic live in engine/worker/engine-host.ts (no Comlink there, so Node tests drive it directly).
import * as Comlink from 'comlink';
import { ModelLibrary } from './download/model-library';
import { idbKvStore } from './kv/idb-kv-store';
import { EngineHost } from './worker/engine-host';
import { installErrorTransfer } from './worker/error-transfer';
import type {
  AdapterReport, ChatRequest, ChatResult, EngineErrorInfo, KvCacheOptions, LoadedModelInfo, LoadProgress, ModelEntry,
  StoredCacheInfo, TokenEvent, LoadOptions, StorageFacts, StoredModelInfo,
} from './worker/protocol';

const host = new EngineHost({
  gpu: () => (typeof navigator !== 'undefined' ? navigator.gpu : undefined),
  kvStore: typeof indexedDB !== 'undefined' ? idbKvStore : undefined,
  modelLibrary: typeof indexedDB !== 'undefined' ? () => new ModelLibrary() : undefined,
});
/** The bundled models' index under the app's base path (vite's BASE_URL, '/' unless the app is served elsewhere). */
const MODEL_INDEX = `${import.meta.env.BASE_URL}models/index.json`;

export const engineApi = {
  /** WebGPU adapter facts, or NO_WEBGPU. */
  async probe(): Promise<AdapterReport> { return host.probe(); },
  /** Bundled models from `<indexUrl>` (default: the app's /models/index.json). */
  async listModels(indexUrl?: string): Promise<ModelEntry[]> { return host.listModels(indexUrl ?? MODEL_INDEX); },
  /**
   * Loads `entry` (unloading any other), reporting progress; resolves when it is ready to chat. The package is first
   * downloaded into IndexedDB (what is stored is kept and resumed; `options.storage` is the page's storage estimate
   * for the QUOTA check), then loaded from there.
   */
  async loadModel(entry: ModelEntry, onProgress?: (progress: LoadProgress) => void, options?: LoadOptions): Promise<LoadedModelInfo> {
    return host.loadModel(entry, onProgress, options);
  },
  /** The package at a URL prefix (its manifest read and checked), as an entry for loadModel. */
  async describePackage(url: string): Promise<ModelEntry> { return host.describePackage(url); },
  /** Copies a picked folder's package into IndexedDB (verified); resolves with its entry for loadModel. */
  async importFolder(files: File[], onProgress?: (progress: LoadProgress) => void, storage?: StorageFacts): Promise<ModelEntry> {
    return host.importFolder(files, onProgress, storage);
  },
  /** Models stored in IndexedDB (complete or partly downloaded) with their bytes. */
  async storedModels(): Promise<StoredModelInfo[]> { return host.storedModels(); },
  /** Deletes a stored model's bytes (a loaded model keeps running from the GPU). */
  async deleteModel(id: string): Promise<void> { return host.deleteModel(id); },
  /** Pauses the running download (its loadModel fails with ABORTED); loadModel again resumes it. */
  pauseDownload(): void { host.pauseDownload(); },
  /** Stops the running download and deletes what model `id` has stored. */
  async cancelDownload(id: string): Promise<void> { return host.cancelDownload(id); },
  /** Generates the assistant's answer to request.messages; reuses the conversation's cached prefix. */
  async chat(request: ChatRequest, onToken: (event: TokenEvent) => void): Promise<ChatResult> {
    return host.chat(request, onToken);
  },
  /** Stops the running chat() within one token; it resolves with finishReason 'abort'. */
  stop(): void { host.stop(); },
  /** Drops a conversation's latent cache (deleted conversation). */
  async forgetConversation(conversationId: string): Promise<void> { host.forgetConversation(conversationId); },
  /** Stored cache format (f16 | int8), the byte cap on all stored caches and on inactive GPU copies (least recently used dropped first, at once). */
  configureKvCache(options: KvCacheOptions): void { host.configureKvCache(options); },
  /** Bytes of each conversation's stored latent cache, by conversation id. */
  async cacheSizes(): Promise<Record<string, number>> { return host.cacheSizes(); },
  /** The model that answers now (null when none): a failed or cancelled load keeps the previous one until it unloads it. */
  async activeModel(): Promise<LoadedModelInfo | null> { return host.activeModel(); },
  /** Each conversation's stored latent cache (bytes, tokens, formats), after queued saves and evictions. */
  async cacheDetails(): Promise<Record<string, StoredCacheInfo>> { return host.cacheDetails(); },
  /** Registers a callback for a failed cache save (non-fatal: the answer is kept). */
  onCacheError(callback: (error: EngineErrorInfo) => void): void { host.onCacheError(callback); },
  /** Registers a callback for a lost GPU device; the UI then calls loadModel again (conversations are kept). */
  onDeviceLost(callback: (error: EngineErrorInfo) => void): void { host.onDeviceLost(callback); },
};

export type EngineApi = typeof engineApi;

/** Inside a (module) worker: WorkerGlobalScope exists and `self` is one; a page or Node has neither. */
function inWorker(): boolean {
  return typeof WorkerGlobalScope !== 'undefined' && typeof self !== 'undefined' && self instanceof WorkerGlobalScope;
}

if (inWorker()) {
  installErrorTransfer();
  Comlink.expose(engineApi);
}
