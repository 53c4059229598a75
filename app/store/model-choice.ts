// Which model to load on start: the user's last choice when it is still installed, else the bundled default
// (the first bundled entry), else the first installed one.
import type { ModelEntry } from '../../engine/worker/protocol';

export function modelToLoadOnStart(models: ModelEntry[], chosenModelId: string | null): ModelEntry | null {
  return models.find((m) => m.id === chosenModelId) ?? models.find((m) => m.bundled) ?? models[0] ?? null;
}
