// Models slice: the installed models (from the engine's listModels), the one chosen, the loaded one and its
// load status and progress (download into IndexedDB first, then the load), the models stored in IndexedDB and
// whether the browser granted persistent storage.
import type { StateCreator } from 'zustand';
import type { AdapterReport, LoadedModelInfo, LoadProgress, ModelEntry, StoredModelInfo } from '../../engine/worker/protocol';
import type { AppStore } from './index';

export type ModelStatus = 'starting' | 'loading' | 'paused' | 'ready' | 'restarting' | 'failed' | 'none';

export interface ModelsSlice {
  models: ModelEntry[];
  /** The user's choice (stored); the bundled default until they pick one. */
  chosenModelId: string | null;
  loadedModel: LoadedModelInfo | null;
  modelStatus: ModelStatus;
  loadProgress: LoadProgress | null;
  adapter: AdapterReport | null;
  storedModels: StoredModelInfo[];
  /** navigator.storage.persist()'s answer; null until asked. */
  storagePersisted: boolean | null;
  setStoredModels: (stored: StoredModelInfo[]) => void;
  setStoragePersisted: (persisted: boolean) => void;
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
  storedModels: [],
  storagePersisted: null,
  setStoredModels: (storedModels) => set({ storedModels }),
  setStoragePersisted: (storagePersisted) => set({ storagePersisted }),
  setModels: (models) => set({ models }),
  setChosenModelId: (chosenModelId) => set({ chosenModelId }),
  setModelStatus: (modelStatus) => set({ modelStatus }),
  setLoadProgress: (loadProgress) => set({ loadProgress }),
  setLoadedModel: (loadedModel) => set({ loadedModel }),
  setAdapter: (adapter) => set({ adapter }),
});
