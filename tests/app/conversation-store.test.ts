// The UI's conversation rules and store slices, without React: titles, newest-first order, regenerate and
// edit-and-continue, the turns sent to the engine, reading back stored data (damaged entries dropped, settings
// clamped), the start model choice, and the store actions that combine them.
import { describe, expect, it } from 'vitest';
import type { ChatStats, ModelEntry } from '../../engine/worker/protocol';
import { createAppStore } from '../../app/store';
import {
  appendAssistantMessage, appendUserMessage, chatTurns, createConversation, dropLastAnswer, editUserMessage, sortNewestFirst, titleFromText,
} from '../../app/store/conversation-logic';
import { modelToLoadOnStart } from '../../app/store/model-choice';
import { readStoredConversations, readStoredPerf, readStoredSettings } from '../../app/store/stored-shape';
import { DEFAULT_SETTINGS } from '../../app/store/types';

function conversationWith(...turns: [string, string][]) {
  let c = createConversation(1000, 'c1');
  turns.forEach(([question, answer], i) => {
    c = appendUserMessage(c, question, 2000 + i);
    if (answer) c = appendAssistantMessage(c, answer, undefined, 2000 + i);
  });
  return c;
}

describe('conversation rules', () => {
  it('the first user message names the conversation: first line, whitespace collapsed, cut at a word', () => {
    expect(titleFromText('  How do   latent caches work?\nsecond line')).toBe('How do latent caches work?');
    expect(titleFromText('word '.repeat(30))).toBe('word word word word word word word word word…');
    expect(titleFromText('   ')).toBe('New conversation');
    expect(titleFromText('## What is **MLA** in `deepseek_v2`? __it__')).toBe('What is MLA in deepseek_v2? it');
    expect(conversationWith(['Hello there', 'Hi'], ['Second', '']).title).toBe('Hello there');
  });

  it('orders newest activity first', () => {
    const a = { ...createConversation(1, 'a'), updatedAt: 5 };
    const b = { ...createConversation(2, 'b'), updatedAt: 9 };
    const c = { ...createConversation(3, 'c'), updatedAt: 5 };
    expect(sortNewestFirst([a, b, c]).map((x) => x.id)).toEqual(['b', 'c', 'a']);
  });

  it('regenerate drops only the last answer; a conversation ending with a question is kept as it is', () => {
    const c = conversationWith(['q1', 'a1'], ['q2', 'a2']);
    expect(dropLastAnswer(c, 9)!.messages.map((m) => m.content)).toEqual(['q1', 'a1', 'q2']);
    const unanswered = conversationWith(['q1', 'a1'], ['q2', '']);
    expect(dropLastAnswer(unanswered, 9)).toBe(unanswered);
    expect(dropLastAnswer(createConversation(1), 9)).toBeNull();
  });

  it('editing a user message replaces its text and drops every later message', () => {
    const c = conversationWith(['q1', 'a1'], ['q2', 'a2'], ['q3', 'a3']);
    const edited = editUserMessage(c, c.messages[2]!.id, 'q2 edited', 9)!;
    expect(edited.messages.map((m) => m.content)).toEqual(['q1', 'a1', 'q2 edited']);
    expect(edited.messages[2]!.id).toBe(c.messages[2]!.id);
    expect(editUserMessage(c, c.messages[1]!.id, 'not a user message', 9)).toBeNull();
  });

  it('the engine gets the system prompt first, then the turns in order; a blank system prompt is left out', () => {
    const c = conversationWith(['q1', 'a1'], ['q2', '']);
    expect(chatTurns('Be brief.', c.messages)).toEqual([
      { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' },
    ]);
    expect(chatTurns('  ', c.messages)[0]).toEqual({ role: 'user', content: 'q1' });
  });
});

describe('stored data read back', () => {
  it('keeps whole conversations and drops damaged ones and repeated ids', () => {
    const good = conversationWith(['q', 'a']);
    const stored = [good, { ...good }, { id: 'x', title: 't', messages: [{ id: 'm', role: 'system', content: 'no' }], createdAt: 1, updatedAt: 1 },
      { id: 'y', title: 't', messages: 'nope', createdAt: 1, updatedAt: 1 }, null, 42];
    expect(readStoredConversations(stored)).toEqual([good]);
    expect(readStoredConversations(undefined)).toEqual([]);
  });

  it('settings fall back to defaults field by field and numbers are clamped to their ranges', () => {
    expect(readStoredSettings(undefined)).toEqual(DEFAULT_SETTINGS);
    expect(readStoredSettings({ temperature: 9, topK: 12.6, maxNewTokens: -3, topP: 'x', attention: 'dense', systemPrompt: 'S' })).toEqual({
      ...DEFAULT_SETTINGS, temperature: 2, topK: 13, maxNewTokens: 1, attention: 'dense', systemPrompt: 'S',
    });
    expect(readStoredSettings({ attention: 'other', repetitionPenalty: Number.NaN })).toEqual(DEFAULT_SETTINGS);
  });

  it('perf figures are kept only for known conversations and only when whole', () => {
    const stats = statsFor('dense', 3);
    const stored = {
      lastStats: { known: stats, gone: stats, broken: { ...stats, decodeTokensPerSecond: 'fast' } },
      decodeSeries: { known: { sparse: [{ contextTokens: 1, ms: 2 }], dense: [] }, broken: { sparse: [{ contextTokens: 1 }], dense: [] } },
    };
    const perf = readStoredPerf(stored, new Set(['known', 'broken']));
    expect(perf.lastStats).toEqual({ known: stats });
    expect(perf.decodeSeries).toEqual({ known: { sparse: [{ contextTokens: 1, ms: 2 }], dense: [] } });
    expect(readStoredPerf(null, new Set(['known']))).toEqual({ lastStats: {}, decodeSeries: {} });
  });
});

function statsFor(attention: 'sparse' | 'dense', from: number): ChatStats {
  return {
    prefillTokens: 4, reusedTokens: 0, prefillTokensPerSecond: 1, decodeTokensPerSecond: 1, timeToFirstTokenMs: 1, generatedTokens: 2,
    contextTokens: from + 2, latentKvBytes: 1, fullKvBytes: 2, attention, decodeSeries: [{ contextTokens: from, ms: 3 }, { contextTokens: from + 1, ms: 4 }],
    dispatchesPerToken: 1, submitsPerToken: 1,
  };
}

const entry = (id: string, bundled: boolean): ModelEntry => ({ id, name: id, url: `/models/${id}/`, label: '', family: 'deepseek_v32', quantisation: 'q4', bytes: 1, bundled });

describe('the model loaded on start', () => {
  it('is the last choice when still installed, else the bundled default, else the first', () => {
    const models = [entry('downloaded', false), entry('bundled', true), entry('other', false)];
    expect(modelToLoadOnStart(models, 'other')!.id).toBe('other');
    expect(modelToLoadOnStart(models, 'gone')!.id).toBe('bundled');
    expect(modelToLoadOnStart(models, null)!.id).toBe('bundled');
    expect(modelToLoadOnStart([entry('only', false)], null)!.id).toBe('only');
    expect(modelToLoadOnStart([], 'x')).toBeNull();
  });
});

describe('store actions', () => {
  it('new, select, rename and delete conversations; an empty conversation in view is reused', () => {
    const store = createAppStore();
    const first = store.getState().newConversation();
    expect(store.getState().newConversation()).toBe(first);
    store.getState().updateConversation(first, (c) => appendUserMessage(c, 'hello', Date.now()));
    const second = store.getState().newConversation();
    expect(second).not.toBe(first);
    expect(store.getState().conversations.map((c) => c.id)).toEqual([second, first]);
    store.getState().renameConversation(first, '  Renamed  ');
    store.getState().renameConversation(first, '   ');
    expect(store.getState().conversations.find((c) => c.id === first)!.title).toBe('Renamed');
    store.getState().selectConversation(first);
    store.getState().deleteConversation(first);
    expect(store.getState().currentConversationId).toBe(second);
    expect(store.getState().conversations.map((c) => c.id)).toEqual([second]);
  });

  it('decode timings accumulate per conversation and per attention mode; deleting a conversation drops them', () => {
    const store = createAppStore();
    const stats = statsFor;
    store.getState().recordStats('c', stats('sparse', 10));
    store.getState().recordStats('c', stats('dense', 20));
    store.getState().recordStats('c', stats('sparse', 30));
    store.getState().recordStats('other', stats('dense', 5));
    const series = store.getState().decodeSeries.c!;
    expect(series.sparse.map((p) => p.contextTokens)).toEqual([10, 11, 30, 31]);
    expect(series.dense.map((p) => p.contextTokens)).toEqual([20, 21]);
    expect(store.getState().lastStats.c!.attention).toBe('sparse');
    store.getState().restoreConversations([createConversation(1, 'c'), createConversation(2, 'other')], 'c');
    store.getState().deleteConversation('c');
    expect(Object.keys(store.getState().decodeSeries)).toEqual(['other']);
    expect(Object.keys(store.getState().lastStats)).toEqual(['other']);
  });

  it('the error banner carries the next step for its code; dismissing by code leaves other errors', () => {
    const store = createAppStore();
    store.getState().showError('CONTEXT_FULL', 'full');
    expect(store.getState().banner!.step.action).toBe('new-conversation');
    store.getState().dismissError('SAVE_FAILED');
    expect(store.getState().banner!.code).toBe('CONTEXT_FULL');
    store.getState().showError('DEVICE_LOST', 'lost');
    expect(store.getState().banner!.step.action).toBe('reload-engine');
    store.getState().dismissError();
    expect(store.getState().banner).toBeNull();
  });
});
