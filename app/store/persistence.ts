// Conversations, settings, the conversation in view, the chosen model id and the perf figures per conversation, kept in IndexedDB through idb-keyval.
// Read back once on start; then changes are saved debounced (see SETTLE_MS). A failed save shows in
// the error banner (SAVE_FAILED, with a retry) and is never silent; the next successful save clears it.
import { createStore, getMany, setMany } from 'idb-keyval';
import type { UseBoundStore, StoreApi } from 'zustand';
import type { AppStore } from './index';
import { readStoredConversations, readStoredPerf, readStoredSettings } from './stored-shape';

/** Typing in settings or a title settles for this long before a save; conversations changing (a message sent, an
 * answer stored, a delete) are discrete events and are saved on the next tick, so a reload right after an answer
 * finds it stored. */
const SETTLE_MS = 400;
const KEYS = ['conversations', 'settings', 'currentConversationId', 'chosenModelId', 'lastStats', 'decodeSeries'] as const;

type Saved = Pick<AppStore, (typeof KEYS)[number]>;

function pickSaved(state: AppStore): Saved {
  return {
    conversations: state.conversations,
    settings: state.settings,
    currentConversationId: state.currentConversationId,
    chosenModelId: state.chosenModelId,
    lastStats: state.lastStats,
    decodeSeries: state.decodeSeries,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export interface Persistence {
  /** Saves now (the banner's retry); resolves true when it worked. */
  saveNow: () => Promise<boolean>;
  stop: () => void;
}

/** Reads the stored state into `store`, then keeps saving it. Resolves once the stored state is in the store. */
export async function startPersistence(store: UseBoundStore<StoreApi<AppStore>>): Promise<Persistence> {
  const idb = createStore('deepseek-webgpu-chat', 'ui-state');
  try {
    const [conversations, settings, currentId, chosenModelId, lastStats, decodeSeries] = await getMany<unknown>([...KEYS], idb);
    const restored = readStoredConversations(conversations);
    store.getState().restoreSettings(readStoredSettings(settings));
    store.getState().setChosenModelId(typeof chosenModelId === 'string' ? chosenModelId : null);
    const perf = readStoredPerf({ lastStats, decodeSeries }, new Set(restored.map((c) => c.id)));
    store.getState().restorePerf(perf.lastStats, perf.decodeSeries);
    store.getState().restoreConversations(restored, typeof currentId === 'string' ? currentId : null);
  } catch (error) {
    // Without a readable store, saving could overwrite conversations we failed to read: do not save this session.
    store.getState().restoreConversations([], null);
    store.getState().setSaveState('off');
    store.getState().showError('SAVE_FAILED', `Reading your saved conversations from the browser's storage failed (${messageOf(error)}); nothing will be saved this session.`);
    return { saveNow: async () => false, stop: () => {} };
  }

  let timer: ReturnType<typeof setTimeout> | null = null;
  let last = pickSaved(store.getState());

  const saveNow = async (): Promise<boolean> => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const saved = pickSaved(store.getState());
    try {
      await setMany(KEYS.map((key) => [key, saved[key]] as [IDBValidKey, unknown]), idb);
      store.getState().dismissError('SAVE_FAILED');
      // A change made while this save ran has its own timer; only the latest state counts as saved.
      if (timer === null) store.getState().setSaveState('saved');
      return true;
    } catch (error) {
      store.getState().setSaveState('failed');
      store.getState().showError('SAVE_FAILED', `Saving your conversations failed (${messageOf(error)}).`);
      return false;
    }
  };

  const unsubscribe = store.subscribe((state) => {
    const next = pickSaved(state);
    if (KEYS.every((key) => next[key] === last[key])) return;
    const messagesChanged = next.conversations.length !== last.conversations.length
      || next.conversations.some((c, i) => c.messages !== last.conversations[i]?.messages);
    last = next;
    if (state.saveState !== 'pending') state.setSaveState('pending');
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => void saveNow(), messagesChanged ? 0 : SETTLE_MS);
  });
  // Leaving the page inside the quiet time would lose the last change: save at once when the tab is hidden.
  const onHidden = () => { if (document.visibilityState === 'hidden' && timer !== null) void saveNow(); };
  const onPageHide = () => { if (timer !== null) void saveNow(); };
  document.addEventListener('visibilitychange', onHidden);
  window.addEventListener('pagehide', onPageHide);

  return {
    saveNow,
    stop: () => {
      unsubscribe();
      document.removeEventListener('visibilitychange', onHidden);
      window.removeEventListener('pagehide', onPageHide);
      if (timer !== null) clearTimeout(timer);
    },
  };
}
