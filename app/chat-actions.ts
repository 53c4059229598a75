// Chat actions: send, stop, regenerate the last answer, edit a user message and continue, delete a conversation.
// Each builds the request from the store (system prompt, sampling settings, attention mode), streams the answer
// into the generation slice and stores it in the conversation when the engine returns it.
import { toErrorInfo } from '../engine/worker/error-transfer';
import type { ChatRequest } from '../engine/worker/protocol';
import { engineClient, reportEngineError } from './engine-actions';
import { refreshStoredCaches } from './kv-cache-actions';
import { useAppStore } from './store';
import type { Conversation } from './store/types';
import { appendAssistantMessage, appendUserMessage, chatTurns, dropLastAnswer, editUserMessage } from './store/conversation-logic';

const store = () => useAppStore.getState();

function canGenerate(): boolean {
  const s = store();
  return s.generatingIn === null && s.modelStatus === 'ready';
}

function requestFor(conversationId: string): ChatRequest | null {
  const s = store();
  const conversation = s.conversations.find((c) => c.id === conversationId);
  if (!conversation || conversation.messages.at(-1)?.role !== 'user') return null;
  const { settings } = s;
  return {
    conversationId,
    messages: chatTurns(settings.systemPrompt, conversation.messages),
    sampling: {
      temperature: settings.temperature,
      topP: settings.topP,
      topK: settings.topK,
      repetitionPenalty: settings.repetitionPenalty,
      maxNewTokens: settings.maxNewTokens,
    },
    attention: s.loadedModel?.hasIndexer ? settings.attention : 'dense',
  };
}

/** Marks the last (new) answer as one that used the stored cache. */
function markRestored(conversation: Conversation, restoredTokens: number): Conversation {
  if (restoredTokens <= 0) return conversation;
  const messages = conversation.messages.map((m, i) => (i === conversation.messages.length - 1 ? { ...m, restoredTokens } : m));
  return { ...conversation, messages };
}

async function generateAnswer(conversationId: string): Promise<void> {
  const request = requestFor(conversationId);
  if (!request) return;
  store().startStreaming(conversationId);
  try {
    const result = await engineClient().chat(request, (text) => store().appendStreaming(text));
    const finish = result.finishReason === 'stop' ? undefined : result.finishReason;
    const restored = result.stats.restoredTokens ?? 0;
    store().updateConversation(conversationId, (c) => markRestored(appendAssistantMessage(c, result.text, finish, Date.now()), restored));
    store().recordStats(conversationId, result.stats);
    if (result.finishReason === 'context') {
      const limit = store().loadedModel?.maxContext;
      store().showError('CONTEXT_FULL', `This conversation has reached the model's context length${limit ? ` of ${limit} tokens` : ''}.`);
    }
  } catch (error) {
    const partial = store().streamingText;
    const finish = toErrorInfo(error).code === 'ABORTED' ? 'abort' : 'error';
    if (partial) store().updateConversation(conversationId, (c) => appendAssistantMessage(c, partial, finish, Date.now()));
    reportEngineError(error);
  } finally {
    store().endStreaming();
    void refreshStoredCaches(); // the answer's rows were queued for saving (a budget may have evicted others)
  }
}

export async function sendMessage(text: string): Promise<void> {
  if (!text.trim() || !canGenerate()) return;
  const id = store().currentConversationId ?? store().newConversation();
  store().updateConversation(id, (c) => appendUserMessage(c, text, Date.now()));
  await generateAnswer(id);
}

export function stopGenerating(): void {
  if (store().generatingIn !== null) engineClient().stop();
}

export async function regenerateLastAnswer(conversationId: string): Promise<void> {
  if (!canGenerate()) return;
  store().updateConversation(conversationId, (c) => dropLastAnswer(c, Date.now()));
  await generateAnswer(conversationId);
}

export async function editAndContinue(conversationId: string, messageId: string, text: string): Promise<void> {
  if (!text.trim() || !canGenerate()) return;
  store().updateConversation(conversationId, (c) => editUserMessage(c, messageId, text, Date.now()));
  await generateAnswer(conversationId);
}

export function deleteConversation(conversationId: string): void {
  if (store().generatingIn === conversationId) return;
  store().deleteConversation(conversationId);
  engineClient().forgetConversation(conversationId);
  void refreshStoredCaches();
}
