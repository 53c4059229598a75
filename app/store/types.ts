// Plain data the UI keeps: conversations, their messages and the generation settings. Everything here is
// structured-clone friendly because conversations and settings are stored in IndexedDB as they are.
import type { AttentionChoice } from '../../engine/worker/protocol';
import { DEFAULT_KV_SETTINGS, type KvSettings } from './kv-settings';

export type MessageRole = 'user' | 'assistant';

export interface ChatMessage {
  id: string;
  role: MessageRole;
  content: string;
  /** Set on an assistant answer cut short (stopped, context full, engine failure). */
  finish?: 'stop' | 'length' | 'context' | 'abort' | 'error';
  /** Set on an assistant answer whose prompt was partly restored from the stored latent cache: the rows restored. */
  restoredTokens?: number;
}

export interface Conversation {
  id: string;
  title: string;
  messages: ChatMessage[];
  createdAt: number; // ms since epoch
  updatedAt: number;
}

export interface Settings extends KvSettings {
  systemPrompt: string;
  temperature: number; // 0 = greedy
  topP: number; // (0, 1]
  topK: number; // 0 = off
  repetitionPenalty: number; // 1 = off
  maxNewTokens: number;
  attention: AttentionChoice;
}

/** No system prompt by default: the bundled trained model never saw one in training (its answers degrade with one). */
export const DEFAULT_SETTINGS: Settings = {
  systemPrompt: '',
  temperature: 0.7,
  topP: 0.95,
  topK: 40,
  repetitionPenalty: 1.1,
  maxNewTokens: 256,
  attention: 'sparse',
  ...DEFAULT_KV_SETTINGS,
};

/** Each setting's allowed range: the settings panel's inputs and the loader of stored settings both use it. */
export const SETTING_RANGES = {
  temperature: { min: 0, max: 2, step: 0.05 },
  topP: { min: 0.05, max: 1, step: 0.05 },
  topK: { min: 0, max: 200, step: 1 },
  repetitionPenalty: { min: 1, max: 2, step: 0.05 },
  maxNewTokens: { min: 1, max: 4096, step: 1 },
} as const;

export type NumericSetting = keyof typeof SETTING_RANGES;
