// The UI's handle on the engine worker: creates the module worker, wraps it with Comlink (the type comes from
// engine/worker.ts, never written twice), passes callbacks as Comlink proxies and batches streamed text per
// animation frame. `restart` terminates the worker and starts a fresh one (after DEVICE_LOST). A worker that dies
// (script error, terminated) fails its pending calls with DEVICE_LOST instead of leaving them hanging.
import * as Comlink from 'comlink';
import { EngineError } from '../engine/errors';
import type { EngineApi } from '../engine/worker';
import { installErrorTransfer } from '../engine/worker/error-transfer';
import type {
  AdapterReport, ChatRequest, ChatResult, EngineErrorInfo, KvCacheOptions, LoadedModelInfo, LoadProgress, ModelEntry,
  StoredCacheInfo, TokenEvent, LoadOptions, StorageFacts, StoredModelInfo,
} from '../engine/worker/protocol';
import { createFrameBatcher } from './frame-batcher';

interface WorkerGeneration {
  worker: Worker;
  remote: Comlink.Remote<EngineApi>;
  /** Rejects when this worker dies or is replaced; every call races against it. */
  gone: Promise<never>;
  markGone: (error: EngineError) => void;
}

export class EngineClient {
  private current: WorkerGeneration;
  /** A failed save of a conversation's latent cache (non-fatal; the UI shows it). */
  onCacheError: ((info: EngineErrorInfo) => void) | null = null;

  constructor(private readonly onDeviceLost: (info: EngineErrorInfo) => void) {
    installErrorTransfer();
    this.current = this.spawn();
  }

  private spawn(): WorkerGeneration {
    const worker = new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module' });
    const remote = Comlink.wrap<EngineApi>(worker);
    let markGone: (error: EngineError) => void = () => {};
    const gone = new Promise<never>((_, reject) => { markGone = reject; });
    gone.catch(() => {}); // observed by the calls racing it; never an unhandled rejection
    const generation: WorkerGeneration = { worker, remote, gone, markGone };
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      const error = new EngineError('DEVICE_LOST', `The engine worker stopped (${event.message || 'script error'}). Reload the engine; your conversations are kept.`);
      generation.markGone(error);
      if (this.current === generation) this.onDeviceLost(error.toJSON());
    });
    void remote.onDeviceLost(Comlink.proxy((info: EngineErrorInfo) => {
      if (this.current === generation) this.onDeviceLost(info);
    })).catch(() => {});
    void remote.onCacheError(Comlink.proxy((info: EngineErrorInfo) => {
      if (this.current === generation) this.onCacheError?.(info);
    })).catch(() => {});
    return generation;
  }

  private call<T>(run: (remote: Comlink.Remote<EngineApi>) => Promise<T>): Promise<T> {
    const { remote, gone } = this.current;
    return Promise.race([run(remote), gone]);
  }

  /** Terminates the worker (its pending calls fail with DEVICE_LOST) and starts a fresh one. */
  restart(): void {
    const old = this.current;
    old.markGone(new EngineError('DEVICE_LOST', 'The engine was restarted while this request ran. Send it again.'));
    old.remote[Comlink.releaseProxy]();
    old.worker.terminate();
    this.current = this.spawn();
  }

  probe(): Promise<AdapterReport> {
    return this.call((remote) => remote.probe());
  }

  listModels(indexUrl?: string): Promise<ModelEntry[]> {
    return this.call((remote) => remote.listModels(indexUrl));
  }

  loadModel(entry: ModelEntry, onProgress: (progress: LoadProgress) => void, options?: LoadOptions): Promise<LoadedModelInfo> {
    return this.call((remote) => remote.loadModel(entry, Comlink.proxy(onProgress), options));
  }

  describePackage(url: string): Promise<ModelEntry> {
    return this.call((remote) => remote.describePackage(url));
  }

  /** Files cross to the worker as handles (structured clone of File), not as their bytes. */
  importFolder(files: File[], onProgress: (progress: LoadProgress) => void, storage?: StorageFacts): Promise<ModelEntry> {
    return this.call((remote) => remote.importFolder(files, Comlink.proxy(onProgress), storage));
  }

  storedModels(): Promise<StoredModelInfo[]> {
    return this.call((remote) => remote.storedModels());
  }

  deleteModel(id: string): Promise<void> {
    return this.call((remote) => remote.deleteModel(id));
  }

  pauseDownload(): void {
    void this.call((remote) => remote.pauseDownload()).catch(() => {});
  }

  cancelDownload(id: string): Promise<void> {
    return this.call((remote) => remote.cancelDownload(id));
  }

  /** Streams the answer's text to `onText` at most once per animation frame; all of it has arrived when this resolves. */
  async chat(request: ChatRequest, onText: (text: string) => void): Promise<ChatResult> {
    const batcher = createFrameBatcher(onText);
    try {
      return await this.call((remote) => remote.chat(request, Comlink.proxy((event: TokenEvent) => batcher.push(event.delta))));
    } finally {
      batcher.flush();
    }
  }

  stop(): void {
    void this.call((remote) => remote.stop()).catch(() => {});
  }

  /** Stored latent cache bytes per conversation id ({} when the engine cannot say). */
  cacheSizes(): Promise<Record<string, number>> {
    return this.call((remote) => remote.cacheSizes()).catch(() => ({}));
  }

  /** The model the engine answers with now (null when none, or when the engine cannot say). */
  activeModel(): Promise<LoadedModelInfo | null> {
    return this.call((remote) => remote.activeModel()).catch(() => null);
  }

  /** Each conversation's stored latent cache (bytes, tokens, formats), after the engine's queued saves and evictions. */
  cacheDetails(): Promise<Record<string, StoredCacheInfo>> {
    return this.call((remote) => remote.cacheDetails());
  }

  /** Sets the stored format and the cache budgets; a lowered budget evicts at once. */
  configureKvCache(options: KvCacheOptions): Promise<void> {
    return this.call((remote) => remote.configureKvCache(options));
  }

  forgetConversation(conversationId: string): void {
    void this.call((remote) => remote.forgetConversation(conversationId)).catch(() => {});
  }
}
