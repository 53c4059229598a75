// Checks what IndexedDB hands back before it enters the store: stored data may come from an older version of the
// app or be damaged, so malformed conversations are dropped and settings fall back to defaults, field by field,
// with numbers clamped to their ranges.
import type { ChatStats, DecodeTiming } from '../../engine/worker/protocol';
import type { DecodeSeries } from './generation-slice';
import { readStoredKvSettings } from './kv-settings';
import type { ChatMessage, Conversation, NumericSetting, Settings } from './types';
import { DEFAULT_SETTINGS, SETTING_RANGES } from './types';

const FINISHES = new Set(['stop', 'length', 'context', 'abort', 'error']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function storedMessage(value: unknown): ChatMessage | null {
  if (!isRecord(value)) return null;
  const { id, role, content, finish } = value;
  if (typeof id !== 'string' || (role !== 'user' && role !== 'assistant') || typeof content !== 'string') return null;
  const message: ChatMessage = { id, role, content };
  if (typeof finish === 'string' && FINISHES.has(finish)) message.finish = finish as ChatMessage['finish'];
  const restored = (value as Record<string, unknown>).restoredTokens;
  if (typeof restored === 'number' && restored > 0) message.restoredTokens = restored;
  return message;
}

function storedConversation(value: unknown): Conversation | null {
  if (!isRecord(value)) return null;
  const { id, title, messages, createdAt, updatedAt } = value;
  if (typeof id !== 'string' || typeof title !== 'string' || !Array.isArray(messages)) return null;
  if (typeof createdAt !== 'number' || typeof updatedAt !== 'number') return null;
  const kept = messages.map(storedMessage);
  if (kept.some((m) => m === null)) return null;
  return { id, title, messages: kept as ChatMessage[], createdAt, updatedAt };
}

/** The conversations that are whole; anything else (not an array, a damaged entry, a repeated id) is left out. */
export function readStoredConversations(value: unknown): Conversation[] {
  if (!Array.isArray(value)) return [];
  const seen = new Set<string>();
  const conversations: Conversation[] = [];
  for (const entry of value) {
    const conversation = storedConversation(entry);
    if (!conversation || seen.has(conversation.id)) continue;
    seen.add(conversation.id);
    conversations.push(conversation);
  }
  return conversations;
}

export function clampSetting(name: NumericSetting, value: number): number {
  const { min, max, step } = SETTING_RANGES[name];
  if (!Number.isFinite(value)) return DEFAULT_SETTINGS[name];
  const clamped = Math.min(max, Math.max(min, value));
  return step >= 1 ? Math.round(clamped) : clamped;
}

export function readStoredSettings(value: unknown): Settings {
  const settings: Settings = { ...DEFAULT_SETTINGS };
  if (!isRecord(value)) return settings;
  Object.assign(settings, readStoredKvSettings(value));
  if (typeof value.systemPrompt === 'string') settings.systemPrompt = value.systemPrompt;
  if (value.attention === 'sparse' || value.attention === 'dense') settings.attention = value.attention;
  for (const name of Object.keys(SETTING_RANGES) as NumericSetting[]) {
    const stored = value[name];
    if (typeof stored === 'number') settings[name] = clampSetting(name, stored);
  }
  return settings;
}

const STAT_NUMBERS = ['prefillTokens', 'reusedTokens', 'prefillTokensPerSecond', 'decodeTokensPerSecond', 'timeToFirstTokenMs',
  'generatedTokens', 'contextTokens', 'latentKvBytes', 'fullKvBytes', 'dispatchesPerToken', 'submitsPerToken'] as const;

function storedTimings(value: unknown): DecodeTiming[] | null {
  if (!Array.isArray(value)) return null;
  const ok = value.every((p) => isRecord(p) && typeof p.contextTokens === 'number' && typeof p.ms === 'number');
  return ok ? value.map((p: DecodeTiming) => ({ contextTokens: p.contextTokens, ms: p.ms })) : null;
}

function storedStats(value: unknown): ChatStats | null {
  if (!isRecord(value) || (value.attention !== 'sparse' && value.attention !== 'dense')) return null;
  if (!STAT_NUMBERS.every((name) => typeof value[name] === 'number')) return null;
  const decodeSeries = storedTimings(value.decodeSeries);
  return decodeSeries ? { ...(value as unknown as ChatStats), decodeSeries } : null;
}

/** Perf figures per conversation (last answer's stats, decode series); entries of unknown conversations are dropped. */
export function readStoredPerf(value: unknown, conversationIds: Set<string>): { lastStats: Record<string, ChatStats>; decodeSeries: Record<string, DecodeSeries> } {
  const lastStats: Record<string, ChatStats> = {};
  const decodeSeries: Record<string, DecodeSeries> = {};
  if (!isRecord(value) || !isRecord(value.lastStats) || !isRecord(value.decodeSeries)) return { lastStats, decodeSeries };
  for (const [id, stats] of Object.entries(value.lastStats)) {
    const kept = storedStats(stats);
    if (kept && conversationIds.has(id)) lastStats[id] = kept;
  }
  for (const [id, series] of Object.entries(value.decodeSeries)) {
    if (!isRecord(series) || !conversationIds.has(id)) continue;
    const sparse = storedTimings(series.sparse);
    const dense = storedTimings(series.dense);
    if (sparse && dense) decodeSeries[id] = { sparse, dense };
  }
  return { lastStats, decodeSeries };
}
