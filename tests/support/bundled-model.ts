// The bundled default model in public/models (what `npm start` and `npm run build` serve), made on first use the
// way their prestart/prebuild step does: a no-op when the package is current, about 20 s otherwise.
import { resolve } from 'node:path';
import { generateDefaultModel, type GenerateResult } from '../../scripts/default-model/generate-default-model';

export const PUBLIC_MODELS_DIR = resolve(__dirname, '../../public/models');

let pending: Promise<GenerateResult> | undefined;

export function bundledModel(): Promise<GenerateResult> {
  pending ??= generateDefaultModel(PUBLIC_MODELS_DIR);
  return pending;
}
