// Models slice: the installed models (from the engine's listModels), the one chosen, the loaded one and its
// load status and progress.
import type { StateCreator } from 'zustand';
import type { AdapterReport, LoadedModelInfo, LoadProgress, ModelEntry } from '../../engine/worker/protocol';
import type { AppStore } from './index';

export type ModelStatus = 'starting' | 'loading' | 'ready' | 'restarting' | 'failed' | 'none';

export interface ModelsSlice {
  models: ModelEntry[];
  /** The user's choice (stored); the bundled default until they pick one. */
  chosenModelId: string | null;
  loadedModel: LoadedModelInfo | null;
  modelStatus: ModelStatus;
  loadProgress: LoadProgress | null;
  adapter: AdapterReport | null;
  setModels: (models: ModelEntry[]) => void;
  setChosenModelId: (id: string | null) => void;
  setModelStatus: (status: ModelStatus) => void;
  setLoadProgress: (progress: LoadProgress | null) => void;
  setLoadedModel: (model: LoadedModelInfo | null) => void;
  setAdapter: (adapter: AdapterReport) => void;
}

export const createModelsSlice: StateCreator<AppStore, [], [], ModelsSlice> = (set) => ({
  models: [],
  chosenModelId: null,
  loadedModel: null,
  modelStatus: 'starting',
  loadProgress: null,
  adapter: null,
  setModels: (models) => set({ models }),
  setChosenModelId: (chosenModelId) => set({ chosenModelId }),
  setModelStatus: (modelStatus) => set({ modelStatus }),
  setLoadProgress: (loadProgress) => set({ loadProgress }),
  setLoadedModel: (loadedModel) => set({ loadedModel }),
  setAdapter: (adapter) => set({ adapter }),
});
