// Vitest global setup, run once in the main process before any test file. Test files run in parallel (vite.config.ts),
// and several of them serve or load the bundled default model in public/models, so it is made here, once, instead
// of by whichever files happen to start together.
import { bundledModel } from './bundled-model';

export default async function setup(): Promise<void> {
  await bundledModel();
}
