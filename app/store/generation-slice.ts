// Generation slice: the answer being streamed (which conversation, its text so far), the last answer's stats per
// conversation and the decode timings per attention mode that the perf chart draws, accumulated per conversation.
import type { StateCreator } from 'zustand';
import type { AttentionChoice, ChatStats, DecodeTiming } from '../../engine/worker/protocol';
import type { AppStore } from './index';

export type DecodeSeries = Record<AttentionChoice, DecodeTiming[]>;

export interface GenerationSlice {
  /** The conversation an answer is being generated in, or null when idle. */
  generatingIn: string | null;
  streamingText: string;
  lastStats: Record<string, ChatStats>;
  decodeSeries: Record<string, DecodeSeries>;
  startStreaming: (conversationId: string) => void;
  appendStreaming: (delta: string) => void;
  endStreaming: () => void;
  recordStats: (conversationId: string, stats: ChatStats) => void;
  restorePerf: (lastStats: Record<string, ChatStats>, decodeSeries: Record<string, DecodeSeries>) => void;
}

/** Points kept per mode and conversation: enough for long chats, bounded for storage. */
export const MAX_SERIES_POINTS = 8192;

export function withTimings(series: DecodeSeries | undefined, stats: ChatStats): DecodeSeries {
  const base: DecodeSeries = series ?? { sparse: [], dense: [] };
  return { ...base, [stats.attention]: [...base[stats.attention], ...stats.decodeSeries].slice(-MAX_SERIES_POINTS) };
}

export const createGenerationSlice: StateCreator<AppStore, [], [], GenerationSlice> = (set) => ({
  generatingIn: null,
  streamingText: '',
  lastStats: {},
  decodeSeries: {},
  startStreaming: (conversationId) => set({ generatingIn: conversationId, streamingText: '' }),
  appendStreaming: (delta) => set((state) => ({ streamingText: state.streamingText + delta })),
  endStreaming: () => set({ generatingIn: null, streamingText: '' }),
  recordStats: (conversationId, stats) => set((state) => ({
    lastStats: { ...state.lastStats, [conversationId]: stats },
    decodeSeries: { ...state.decodeSeries, [conversationId]: withTimings(state.decodeSeries[conversationId], stats) },
  })),
  restorePerf: (lastStats, decodeSeries) => set({ lastStats, decodeSeries }),
});
