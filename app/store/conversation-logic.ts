// Pure functions over conversations: creating, titling, ordering, editing and the message list sent to the
// engine. The store's actions are thin wrappers around these, so the rules are testable without React.
import type { ChatTurn } from '../../engine/worker/protocol';
import type { ChatMessage, Conversation } from './types';

const TITLE_LENGTH = 48;

export function newId(): string {
  return crypto.randomUUID();
}

export function createConversation(now: number, id = newId()): Conversation {
  return { id, title: 'New conversation', messages: [], createdAt: now, updatedAt: now };
}

/** A title from the first user message: its first line without Markdown marks, whitespace collapsed, cut at a word near 48 chars. */
export function titleFromText(text: string): string {
  // Markdown marks (emphasis, code ticks, heading and quote marks) would show as clutter in the list.
  const line = text.trim().split('\n')[0]!.replace(/[*`~]+|\b_+|_+\b|^[#>\s]+/g, '').replace(/\s+/g, ' ').trim();
  if (line.length === 0) return 'New conversation';
  if (line.length <= TITLE_LENGTH) return line;
  const cut = line.slice(0, TITLE_LENGTH);
  const space = cut.lastIndexOf(' ');
  return `${space > TITLE_LENGTH / 2 ? cut.slice(0, space) : cut}…`;
}

/** Newest activity first; ties broken by creation time so the order is stable. */
export function sortNewestFirst(conversations: Conversation[]): Conversation[] {
  return [...conversations].sort((a, b) => b.updatedAt - a.updatedAt || b.createdAt - a.createdAt);
}

/** Appends a user message; the first one also names an untitled conversation. */
export function appendUserMessage(conversation: Conversation, content: string, now: number): Conversation {
  const message: ChatMessage = { id: newId(), role: 'user', content };
  const untitled = conversation.messages.length === 0 && conversation.title === 'New conversation';
  return {
    ...conversation,
    title: untitled ? titleFromText(content) : conversation.title,
    messages: [...conversation.messages, message],
    updatedAt: now,
  };
}

export function appendAssistantMessage(
  conversation: Conversation, content: string, finish: ChatMessage['finish'], now: number,
): Conversation {
  const message: ChatMessage = { id: newId(), role: 'assistant', content, ...(finish ? { finish } : {}) };
  return { ...conversation, messages: [...conversation.messages, message], updatedAt: now };
}

/** Regenerate: drops the last answer so the conversation ends with the user message it answered. */
export function dropLastAnswer(conversation: Conversation, now: number): Conversation | null {
  const last = conversation.messages.at(-1);
  if (!last) return null;
  if (last.role === 'user') return conversation;
  const before = conversation.messages.at(-2);
  if (!before || before.role !== 'user') return null;
  return { ...conversation, messages: conversation.messages.slice(0, -1), updatedAt: now };
}

/** Edit and continue: the user message `messageId` gets new text and every later message is dropped. */
export function editUserMessage(conversation: Conversation, messageId: string, content: string, now: number): Conversation | null {
  const index = conversation.messages.findIndex((m) => m.id === messageId);
  const original = conversation.messages[index];
  if (!original || original.role !== 'user') return null;
  const edited: ChatMessage = { ...original, content };
  return { ...conversation, messages: [...conversation.messages.slice(0, index), edited], updatedAt: now };
}

/** What the engine is asked to answer: the system prompt (when set) and the conversation in order. */
export function chatTurns(systemPrompt: string, messages: ChatMessage[]): ChatTurn[] {
  const turns: ChatTurn[] = messages.map((m) => ({ role: m.role, content: m.content }));
  return systemPrompt.trim() ? [{ role: 'system', content: systemPrompt }, ...turns] : turns;
}
