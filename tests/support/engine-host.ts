// An EngineHost as the worker builds it, on Dawn (SwiftShader without a GPU), loading model packages over HTTP from
// a real 127.0.0.1 server that serves a models folder (index.json plus packages), as the browser worker does from
// the app's origin.
import { installNodeWebGpu } from '../../engine/gpu/node-gpu';
import { EngineHost } from '../../engine/worker/engine-host';
import { listModels } from '../../engine/worker/model-index';
import type { ModelEntry } from '../../engine/worker/protocol';
import { serveFolder, type FolderServer } from './package-server';

export interface HostedModels {
  host: EngineHost;
  entries: ModelEntry[]; // index.json's models
  server: FolderServer;
}

export async function hostServing(modelsDir: string): Promise<HostedModels> {
  const gpu = await installNodeWebGpu();
  const server = await serveFolder(modelsDir, { range: true });
  return { host: new EngineHost({ gpu: () => gpu }), entries: await listModels(`${server.url}index.json`), server };
}
