// The engine's Web Worker: the one object the UI talks to, through Comlink. The UI's type for it is
// `EngineApi = typeof engineApi`, taken from this module, so the API is written once. Tokens stream through a
// Comlink.proxy callback; errors cross as EngineErrorInfo (engine/worker/error-transfer.ts).
// SKELETON (contract for the parallel UI work): bodies are filled in by the worker task.
import * as Comlink from 'comlink';
import { EngineError } from './errors';
import { installErrorTransfer } from './worker/error-transfer';
import type {
  AdapterReport, ChatRequest, ChatResult, EngineErrorInfo, LoadedModelInfo, LoadProgress, ModelEntry, TokenEvent,
} from './worker/protocol';

const notYet = (what: string) => new EngineError('DEVICE_LOST', `${what} is not built yet.`);

export const engineApi = {
  /** WebGPU adapter facts, or NO_WEBGPU. */
  async probe(): Promise<AdapterReport> { throw notYet('probe'); },
  /** Bundled models from `<indexUrl>` (default: the app's /models/index.json). */
  async listModels(indexUrl?: string): Promise<ModelEntry[]> { void indexUrl; throw notYet('listModels'); },
  /** Loads `entry` (unloading any other), reporting progress; resolves when it is ready to chat. */
  async loadModel(entry: ModelEntry, onProgress?: (progress: LoadProgress) => void): Promise<LoadedModelInfo> {
    void entry; void onProgress; throw notYet('loadModel');
  },
  /** Generates the assistant's answer to request.messages; reuses the conversation's cached prefix. */
  async chat(request: ChatRequest, onToken: (event: TokenEvent) => void): Promise<ChatResult> {
    void request; void onToken; throw notYet('chat');
  },
  /** Stops the running chat() within one token; it resolves with finishReason 'abort'. */
  stop(): void {},
  /** Drops a conversation's latent cache (deleted conversation). */
  async forgetConversation(conversationId: string): Promise<void> { void conversationId; },
  /** Registers a callback for a lost GPU device; the UI then calls loadModel again (conversations are kept). */
  onDeviceLost(callback: (error: EngineErrorInfo) => void): void { void callback; },
};

export type EngineApi = typeof engineApi;

if (typeof self !== 'undefined' && typeof (self as { importScripts?: unknown }).importScripts === 'function') {
  installErrorTransfer();
  Comlink.expose(engineApi);
}
