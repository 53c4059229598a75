// Errors slice: the one banner shown above the chat, with the code's next step (next-steps.ts).
import type { StateCreator } from 'zustand';
import type { AppStore } from './index';
import type { BannerCode, NextStep } from './next-steps';
import { nextStepFor } from './next-steps';

export interface Banner {
  code: BannerCode;
  message: string;
  step: NextStep;
}

export interface ErrorsSlice {
  banner: Banner | null;
  showError: (code: BannerCode, message: string) => void;
  dismissError: (code?: BannerCode) => void;
}

export const createErrorsSlice: StateCreator<AppStore, [], [], ErrorsSlice> = (set, get) => ({
  banner: null,
  showError: (code, message) => set({ banner: { code, message, step: nextStepFor(code) } }),
  dismissError: (code) => {
    if (code === undefined || get().banner?.code === code) set({ banner: null });
  },
});
