// What the engine worker holds between calls: the GPU device, the loaded model with its tokenizer and chat
// session, and the device-lost listeners. Each model gets a device of its own: loading another model destroys the
// previous device, which frees every buffer the old model had (weights, latent cache, sampler) at once, and a lost
// device is replaced by the next loadModel. A lost device (not one destroyed here) drops the model and reports
// DEVICE_LOST to the listeners; conversations live in the UI, so none is lost. Conversations' latent caches are
// saved to and restored from the KvStore the worker passes (IndexedDB; engine/kv/stored-caches.ts); a failed save
// is reported to the cache-error listeners, never to the answer. With a ModelLibrary (IndexedDB, in the browser
// worker) every model, bundled ones included, is first downloaded into IndexedDB (resumable, verified; progress
// phase 'download') and then loaded from there; without one (Node) packages are read over HTTP. The previous model
// keeps answering while the next one downloads. No Comlink here: Node tests drive this class directly with Dawn's
// GPU object.
import { EngineError } from '../errors';
import { createEngineDevice, type EngineDevice } from '../gpu/device';
import { kvBytesPerToken } from '../kv/kv-bytes';
import type { KvStore } from '../kv/kv-store';
import { DEFAULT_STORED_BUDGET_BYTES, StoredCaches } from '../kv/stored-caches';
import type { ModelLibrary } from '../download/model-library';
import { openHttpPackage } from '../package/package-http';
import { ChatSession, DEFAULT_GPU_BUDGET_BYTES } from './chat-session';
import { toErrorInfo } from './error-transfer';
import { listModels } from './model-index';
import { loadModelPackage, type LoadedModel, type ModelPackage } from './model-loader';
import type {
  AdapterReport, ChatRequest, ChatResult, EngineErrorInfo, KvCacheOptions, LoadedModelInfo, LoadProgress, ModelEntry,
  StoredCacheInfo, TokenEvent, LoadOptions, StorageFacts, StoredModelInfo,
} from './protocol';

export interface EngineHostOptions {
  gpu: () => GPU | undefined; // navigator.gpu in the worker, Dawn's GPU in Node
  openPackage?: (entry: ModelEntry) => Promise<ModelPackage>; // default: over HTTP from entry.url
  kvStore?: () => KvStore; // where conversations' caches are saved (none: kept on the GPU only)
  modelLibrary?: () => ModelLibrary; // where packages are stored before loading (none: read over HTTP)
}

interface ActiveModel {
  info: LoadedModelInfo;
  loaded: LoadedModel;
  session: ChatSession;
}

function adapterReport(engine: EngineDevice): AdapterReport {
  return {
    adapter: engine.adapterInfo,
    cpu: engine.cpu,
    maxStorageBufferBindingSize: engine.limits.maxStorageBufferBindingSize,
    maxBufferSize: engine.limits.maxBufferSize,
  };
}

/** Progress callbacks never stop a load or a download (a closed page, a UI error). */
function safeProgress(onProgress?: (progress: LoadProgress) => void): (progress: LoadProgress) => void {
  return (progress) => {
    try {
      void Promise.resolve(onProgress?.(progress)).catch(() => {});
    } catch { /* progress display problems do not stop a load */ }
  };
}

export class EngineHost {
  private engine: EngineDevice | null = null;
  private engineHoldsModel = false; // a model was (or began to be) loaded on this device
  private active: ActiveModel | null = null;
  private loading: Promise<unknown> = Promise.resolve();
  private readonly lostListeners: ((error: EngineErrorInfo) => void)[] = [];
  private readonly cacheErrorListeners: ((error: EngineErrorInfo) => void)[] = [];
  private storedCaches: StoredCaches | null = null;
  private readonly kvOptions = { encoding: 'f16' as 'f16' | 'int8', budgetBytes: DEFAULT_STORED_BUDGET_BYTES };
  private gpuBudgetBytes = DEFAULT_GPU_BUDGET_BYTES;
  private modelLibrary: ModelLibrary | null = null;

  constructor(private readonly options: EngineHostOptions) {}

  /** The stored packages (created on first use); null without IndexedDB. */
  get library(): ModelLibrary | null {
    if (!this.modelLibrary && this.options.modelLibrary) this.modelLibrary = this.options.modelLibrary();
    return this.modelLibrary;
  }

  private requireLibrary(): ModelLibrary {
    const library = this.library;
    if (!library) throw new EngineError('QUOTA', 'This browser gives the engine no IndexedDB storage (private window?), so models cannot be stored. Use a normal window.', { reason: 'no-indexeddb' });
    return library;
  }

  /** The package at `url` (manifest read and checked), as an entry loadModel takes. */
  describePackage(url: string): Promise<ModelEntry> {
    return this.requireLibrary().describeUrl(url);
  }

  /** Copies a picked folder's package into IndexedDB (verified); returns its entry for loadModel. */
  importFolder(files: File[], onProgress?: (progress: LoadProgress) => void, storage?: StorageFacts): Promise<ModelEntry> {
    return this.requireLibrary().importFolder(files, { onProgress: safeProgress(onProgress), storage });
  }

  async storedModels(): Promise<StoredModelInfo[]> {
    return (await this.library?.list()) ?? [];
  }

  async deleteModel(id: string): Promise<void> {
    await this.library?.delete(id);
  }

  pauseDownload(): void {
    this.library?.pause();
  }

  async cancelDownload(id: string): Promise<void> {
    await this.library?.cancel(id);
  }

  /** The stored caches (created on first use, so a host without a kvStore never opens one). */
  get stored(): StoredCaches | null {
    if (!this.storedCaches && this.options.kvStore) this.storedCaches = new StoredCaches(this.options.kvStore(), this.kvOptions);
    return this.storedCaches;
  }

  /**
   * Sets the stored format and the two budgets. A lowered budget applies at once: inactive GPU copies over it are
   * freed, and least recently used stored caches are dropped (queued behind any save; cacheDetails waits for it).
   */
  configureKvCache(options: KvCacheOptions): void {
    checkKvCacheOptions(options);
    if (options.encoding !== undefined) this.kvOptions.encoding = options.encoding;
    if (options.gpuBudgetBytes !== undefined) {
      this.gpuBudgetBytes = options.gpuBudgetBytes;
      this.active?.session.caches.setBudget(options.gpuBudgetBytes);
    }
    if (options.storedBudgetBytes !== undefined) {
      this.kvOptions.budgetBytes = options.storedBudgetBytes;
      const stored = this.stored;
      if (stored) this.reportCacheError(stored.enforceBudgetNow());
    }
  }

  /** Per conversation id, its stored cache (bytes, tokens, formats), after every queued save and eviction. */
  async cacheDetails(): Promise<Record<string, StoredCacheInfo>> {
    return (await this.stored?.summaries()) ?? {};
  }

  /** Stored cache bytes per conversation id. */
  async cacheSizes(): Promise<Record<string, number>> {
    const stored = this.stored;
    if (!stored) return {};
    await stored.ready;
    return stored.sizes();
  }

  onCacheError(callback: (error: EngineErrorInfo) => void): void {
    this.cacheErrorListeners.push(callback);
  }

  async probe(): Promise<AdapterReport> {
    return adapterReport(this.engine ?? await this.newDevice());
  }

  listModels(indexUrl?: string): Promise<ModelEntry[]> {
    return listModels(indexUrl);
  }

  /** Loads `entry` after any load already under way; unloads the previous model first. */
  loadModel(entry: ModelEntry, onProgress?: (progress: LoadProgress) => void, options: LoadOptions = {}): Promise<LoadedModelInfo> {
    const next = this.loading.catch(() => {}).then(() => this.load(entry, onProgress, options));
    this.loading = next;
    return next;
  }

  async chat(request: ChatRequest, onToken: (event: TokenEvent) => unknown): Promise<ChatResult> {
    const active = this.active;
    if (!active) {
      throw new EngineError('DEVICE_LOST', 'No model is loaded (or the GPU device was lost). Load a model, then send again.', { reason: 'no-model' });
    }
    try {
      return await active.session.chat(request, onToken);
    } catch (error) {
      if (this.active !== active) { // the device was lost or the model replaced while answering
        throw new EngineError('DEVICE_LOST', 'The model was unloaded while answering (GPU device lost or another model loaded). Load a model, then send again.', { reason: 'unloaded' });
      }
      throw error;
    }
  }

  stop(): void {
    this.active?.session.stop();
  }

  forgetConversation(conversationId: string): void {
    if (this.active && !this.active.session.busy) this.active.session.forget(conversationId);
    else void this.stored?.forget(conversationId).catch(() => {});
  }

  onDeviceLost(callback: (error: EngineErrorInfo) => void): void {
    this.lostListeners.push(callback);
  }

  /** The model that answers now: after a failed download or a cancelled load, still the previous one. */
  activeModel(): LoadedModelInfo | null {
    return this.active?.info ?? null;
  }

  /** The loaded model's chat session (tests look at its cache). */
  get session(): ChatSession | null {
    return this.active?.session ?? null;
  }

  /** The loaded model and its device (tests). */
  get loadedModel(): LoadedModel | null {
    return this.active?.loaded ?? null;
  }

  private async openPackage(entry: ModelEntry, report: (progress: LoadProgress) => void, options: LoadOptions): Promise<ModelPackage> {
    if (this.options.openPackage) return this.options.openPackage(entry);
    const library = this.library;
    if (library) return library.openEntry(entry, { onProgress: report, storage: options.storage });
    return openHttpPackage(entry.url);
  }

  private async load(entry: ModelEntry, onProgress: ((progress: LoadProgress) => void) | undefined, options: LoadOptions): Promise<LoadedModelInfo> {
    const report = safeProgress(onProgress);
    const pkg = await this.openPackage(entry, report, options); // downloads first: the current model keeps answering
    const previous = this.active;
    if (previous) { // a running answer ends with 'abort' before its device goes
      previous.session.stop();
      await previous.session.idle();
    }
    this.active = null;
    if (this.engineHoldsModel) this.retireDevice();
    const engine = this.engine ?? await this.newDevice();
    this.engineHoldsModel = true;
    const loaded = await loadModelPackage(engine, pkg, entry, report);
    if (this.engine !== engine) throw this.lostError('the GPU device was lost while loading');
    const kvBytes = kvBytesPerToken(pkg.manifest.config);
    const info: LoadedModelInfo = {
      id: entry.id,
      name: pkg.manifest.name,
      label: entry.label,
      family: pkg.manifest.config.family,
      hasIndexer: loaded.hasIndexer,
      maxContext: loaded.maxContext,
      latentBytesPerToken: loaded.latentBytesPerToken,
      fullKvBytesPerToken: loaded.fullKvBytesPerToken,
      storedBytesPerToken: { f16: kvBytes.latentF16, int8: kvBytes.latentInt8 },
      adapter: adapterReport(engine),
    };
    this.active = { info, loaded, session: new ChatSession(loaded, {
      stored: this.stored ?? undefined,
      gpuBudgetBytes: this.gpuBudgetBytes,
      onStoreError: (error) => this.tellCacheError(error),
    }) };
    return info;
  }

  private tellCacheError(error: EngineError): void {
    for (const listener of this.cacheErrorListeners) {
      try { void Promise.resolve(listener(toErrorInfo(error))).catch(() => {}); } catch { /* next listener */ }
    }
  }

  /** A failed eviction (IndexedDB refused a delete) reaches the cache-error listeners. */
  private reportCacheError(work: Promise<unknown>): void {
    void work.catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      this.tellCacheError(error instanceof EngineError ? error : new EngineError('QUOTA',
        `Dropping conversations' caches from browser storage to fit the budget failed (${why}). Free storage or reload the page.`,
        { reason: why }));
    });
  }

  private async newDevice(): Promise<EngineDevice> {
    const engine = await createEngineDevice(this.options.gpu());
    this.engine = engine;
    this.engineHoldsModel = false;
    void engine.device.lost.then((lost) => {
      if (this.engine !== engine) return; // retired on purpose
      this.engine = null;
      this.active = null;
      const info = toErrorInfo(this.lostError(lost.message || lost.reason || 'unknown reason'));
      for (const listener of this.lostListeners) {
        try {
          void Promise.resolve(listener(info)).catch(() => {});
        } catch { /* one listener's failure does not hide the loss from the others */ }
      }
    });
    return engine;
  }

  /** Destroys the current device and with it every buffer of the model it held. */
  private retireDevice(): void {
    const engine = this.engine;
    this.engine = null;
    this.engineHoldsModel = false;
    engine?.device.destroy();
  }

  private lostError(why: string): EngineError {
    return new EngineError('DEVICE_LOST',
      `The GPU device was lost (${why}). Load the model again to continue; your conversations are kept.`, { reason: why });
  }
}

/** The largest budget configureKvCache takes (1 TiB): anything larger is a typo, not a budget. */
export const MAX_KV_BUDGET_BYTES = 2 ** 40;

function checkKvCacheOptions(options: KvCacheOptions): void {
  if (options.encoding !== undefined && options.encoding !== 'f16' && options.encoding !== 'int8') {
    throw new RangeError(`The stored cache format must be 'f16' or 'int8', got ${JSON.stringify(options.encoding)}.`);
  }
  for (const name of ['storedBudgetBytes', 'gpuBudgetBytes'] as const) {
    const bytes = options[name];
    if (bytes !== undefined && !(Number.isInteger(bytes) && bytes >= 0 && bytes <= MAX_KV_BUDGET_BYTES)) {
      throw new RangeError(`${name} must be a whole number of bytes from 0 to ${MAX_KV_BUDGET_BYTES}, got ${bytes}. Nothing was changed.`);
    }
  }
}
