// Settings slice: the system prompt, sampling settings and attention mode sent with every request, and the latent
// KV cache settings (app/store/kv-settings.ts) that app/kv-cache-actions.ts applies to the engine on change.
import type { StateCreator } from 'zustand';
import type { AppStore } from './index';
import type { KvBudgetSetting, KvSettings } from './kv-settings';
import { clampSetting } from './stored-shape';
import type { NumericSetting, Settings } from './types';
import { DEFAULT_SETTINGS } from './types';

export interface SettingsSlice {
  settings: Settings;
  setSystemPrompt: (systemPrompt: string) => void;
  setNumericSetting: (name: NumericSetting, value: number) => void;
  setAttention: (attention: Settings['attention']) => void;
  setKvEncoding: (kvEncoding: KvSettings['kvEncoding']) => void;
  /** Sets a budget already checked by parseBudgetMiB (kv-settings.ts). */
  setKvBudget: (name: KvBudgetSetting, mib: number) => void;
  restoreSettings: (settings: Settings) => void;
}

export const createSettingsSlice: StateCreator<AppStore, [], [], SettingsSlice> = (set) => ({
  settings: DEFAULT_SETTINGS,
  setSystemPrompt: (systemPrompt) => set((state) => ({ settings: { ...state.settings, systemPrompt } })),
  setNumericSetting: (name, value) => set((state) => ({ settings: { ...state.settings, [name]: clampSetting(name, value) } })),
  setAttention: (attention) => set((state) => ({ settings: { ...state.settings, attention } })),
  setKvEncoding: (kvEncoding) => set((state) => ({ settings: { ...state.settings, kvEncoding } })),
  setKvBudget: (name, mib) => set((state) => ({ settings: { ...state.settings, [name]: mib } })),
  restoreSettings: (settings) => set({ settings }),
});
