// Conversations slice: the list (newest first), the selected one, and new / select / rename / delete. Editing a
// conversation's messages goes through `updateConversation` with a pure function from conversation-logic.ts.
import type { StateCreator } from 'zustand';
import { createConversation, sortNewestFirst } from './conversation-logic';
import type { AppStore } from './index';
import type { Conversation } from './types';

export interface ConversationsSlice {
  conversations: Conversation[];
  currentConversationId: string | null;
  /** True once stored conversations and settings were read back (saving starts only after that). */
  storageRead: boolean;
  /** Where saving to IndexedDB stands: 'pending' from a change until its save finished. */
  saveState: 'saved' | 'pending' | 'failed' | 'off';
  setSaveState: (saveState: ConversationsSlice['saveState']) => void;
  newConversation: () => string;
  selectConversation: (id: string) => void;
  renameConversation: (id: string, title: string) => void;
  deleteConversation: (id: string) => void;
  /** Applies `change` to one conversation; a null result leaves it as it was. */
  updateConversation: (id: string, change: (conversation: Conversation) => Conversation | null) => void;
  restoreConversations: (conversations: Conversation[], currentId: string | null) => void;
}

export const createConversationsSlice: StateCreator<AppStore, [], [], ConversationsSlice> = (set, get) => ({
  conversations: [],
  currentConversationId: null,
  storageRead: false,
  saveState: 'saved',
  setSaveState: (saveState) => set({ saveState }),
  newConversation: () => {
    const current = get().conversations.find((c) => c.id === get().currentConversationId);
    if (current && current.messages.length === 0) return current.id; // reuse the empty one in view
    const conversation = createConversation(Date.now());
    set((state) => ({ conversations: [conversation, ...state.conversations], currentConversationId: conversation.id }));
    return conversation.id;
  },
  selectConversation: (id) => {
    if (get().conversations.some((c) => c.id === id)) set({ currentConversationId: id });
  },
  renameConversation: (id, title) => {
    const trimmed = title.trim();
    if (!trimmed) return;
    set((state) => ({ conversations: state.conversations.map((c) => (c.id === id ? { ...c, title: trimmed } : c)) }));
  },
  deleteConversation: (id) => {
    set((state) => {
      const conversations = state.conversations.filter((c) => c.id !== id);
      const currentConversationId = state.currentConversationId === id ? (conversations[0]?.id ?? null) : state.currentConversationId;
      const { [id]: _stats, ...lastStats } = state.lastStats;
      const { [id]: _series, ...decodeSeries } = state.decodeSeries;
      return { conversations, currentConversationId, lastStats, decodeSeries };
    });
  },
  updateConversation: (id, change) => {
    set((state) => {
      let changed = false;
      const conversations = state.conversations.map((c) => {
        if (c.id !== id) return c;
        const next = change(c);
        if (!next || next === c) return c;
        changed = true;
        return next;
      });
      return changed ? { conversations: sortNewestFirst(conversations) } : {};
    });
  },
  restoreConversations: (conversations, currentId) => {
    const sorted = sortNewestFirst(conversations);
    const current = sorted.find((c) => c.id === currentId)?.id ?? sorted[0]?.id ?? null;
    set({ conversations: sorted, currentConversationId: current, storageRead: true });
  },
});
