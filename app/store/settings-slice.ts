// Settings slice: the system prompt, sampling settings and attention mode sent with every request.
import type { StateCreator } from 'zustand';
import type { AppStore } from './index';
import { clampSetting } from './stored-shape';
import type { NumericSetting, Settings } from './types';
import { DEFAULT_SETTINGS } from './types';

export interface SettingsSlice {
  settings: Settings;
  setSystemPrompt: (systemPrompt: string) => void;
  setNumericSetting: (name: NumericSetting, value: number) => void;
  setAttention: (attention: Settings['attention']) => void;
  restoreSettings: (settings: Settings) => void;
}

export const createSettingsSlice: StateCreator<AppStore, [], [], SettingsSlice> = (set) => ({
  settings: DEFAULT_SETTINGS,
  setSystemPrompt: (systemPrompt) => set((state) => ({ settings: { ...state.settings, systemPrompt } })),
  setNumericSetting: (name, value) => set((state) => ({ settings: { ...state.settings, [name]: clampSetting(name, value) } })),
  setAttention: (attention) => set((state) => ({ settings: { ...state.settings, attention } })),
  restoreSettings: (settings) => set({ settings }),
});
