// The app's one zustand store, combined from typed slices. Actions are plain functions on the store, so code
// outside React (the engine client, persistence) calls them through `useAppStore.getState()`.
import { create } from 'zustand';
import type { ConversationsSlice } from './conversations-slice';
import { createConversationsSlice } from './conversations-slice';
import type { ErrorsSlice } from './errors-slice';
import { createErrorsSlice } from './errors-slice';
import type { GenerationSlice } from './generation-slice';
import { createGenerationSlice } from './generation-slice';
import type { KvCacheSlice } from './kv-cache-slice';
import { createKvCacheSlice } from './kv-cache-slice';
import type { ModelsSlice } from './models-slice';
import { createModelsSlice } from './models-slice';
import type { SettingsSlice } from './settings-slice';
import { createSettingsSlice } from './settings-slice';

export type AppStore = ConversationsSlice & SettingsSlice & ModelsSlice & GenerationSlice & ErrorsSlice & KvCacheSlice;

export const createAppStore = () => create<AppStore>()((...args) => ({
  ...createConversationsSlice(...args),
  ...createSettingsSlice(...args),
  ...createModelsSlice(...args),
  ...createGenerationSlice(...args),
  ...createErrorsSlice(...args),
  ...createKvCacheSlice(...args),
}));

export const useAppStore = createAppStore();

/** The conversation in view, or undefined. */
export function selectCurrentConversation(state: AppStore) {
  return state.conversations.find((c) => c.id === state.currentConversationId);
}
