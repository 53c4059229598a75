// The latent KV cache settings in the UI's store, without React (app/store/kv-settings.ts, settings-slice.ts,
// kv-cache-slice.ts): budgets typed in MiB are checked (empty, not a number, negative, absurdly large each refused
// with a message), turned into whole bytes for configureKvCache, read back from storage field by field, and a
// conversation's stored cache gets a sidebar label and tooltip only when it has one.
import { describe, expect, it } from 'vitest';
import { createAppStore } from '../../app/store';
import {
  budgetBytes, cacheSizeLabel, DEFAULT_KV_SETTINGS, formatKvBytes, kvCacheOptions, parseBudgetMiB,
} from '../../app/store/kv-settings';
import { readStoredSettings } from '../../app/store/stored-shape';
import { DEFAULT_SETTINGS } from '../../app/store/types';

describe('KV cache budgets typed in MiB', () => {
  it('takes plain non-negative numbers, fractions included', () => {
    expect(parseBudgetMiB('512', 'storedKvBudgetMiB')).toEqual({ ok: true, mib: 512 });
    expect(parseBudgetMiB(' 0.25 ', 'storedKvBudgetMiB')).toEqual({ ok: true, mib: 0.25 });
    expect(parseBudgetMiB('.5', 'gpuKvBudgetMiB')).toEqual({ ok: true, mib: 0.5 });
    expect(parseBudgetMiB('0', 'gpuKvBudgetMiB')).toEqual({ ok: true, mib: 0 });
  });

  it('refuses empty, non-numeric, negative and absurdly large input with a message saying what to enter', () => {
    const refused = (text: string, name: 'storedKvBudgetMiB' | 'gpuKvBudgetMiB' = 'storedKvBudgetMiB') => {
      const result = parseBudgetMiB(text, name);
      if (result.ok) throw new Error(`"${text}" was accepted as ${result.mib}`);
      return result.message;
    };
    expect(refused('')).toMatch(/enter a size in MiB/i);
    expect(refused('abc')).toMatch(/"abc" is not a number/);
    expect(refused('12 MB')).toMatch(/not a number/);
    expect(refused('1e3')).toMatch(/not a number/);
    expect(refused('NaN')).toMatch(/not a number/);
    expect(refused('Infinity')).toMatch(/not a number/);
    expect(refused('-5')).toMatch(/cannot be negative/);
    expect(refused('2000000')).toMatch(/At most 1,048,576 MiB/);
    expect(refused('70000', 'gpuKvBudgetMiB')).toMatch(/At most 65,536 MiB/);
    expect(parseBudgetMiB('70000', 'storedKvBudgetMiB').ok, 'the stored budget may be larger than the GPU one').toBe(true);
  });

  it('becomes whole bytes, rounded down, for configureKvCache', () => {
    expect(budgetBytes(512)).toBe(512 * 2 ** 20);
    expect(budgetBytes(0.1)).toBe(104857);
    expect(kvCacheOptions({ kvEncoding: 'int8', storedKvBudgetMiB: 0.5, gpuKvBudgetMiB: 0 }))
      .toEqual({ encoding: 'int8', storedBudgetBytes: 524288, gpuBudgetBytes: 0 });
    expect(kvCacheOptions(DEFAULT_SETTINGS)).toEqual({ encoding: 'f16', storedBudgetBytes: 512 * 2 ** 20, gpuBudgetBytes: 256 * 2 ** 20 });
  });
});

describe('KV cache settings in the store', () => {
  it('default to f16, 512 MiB stored and 256 MiB on the GPU', () => {
    expect(DEFAULT_KV_SETTINGS).toEqual({ kvEncoding: 'f16', storedKvBudgetMiB: 512, gpuKvBudgetMiB: 256 });
    expect(createAppStore().getState().settings).toMatchObject(DEFAULT_KV_SETTINGS);
  });

  it('the actions change only their own field', () => {
    const store = createAppStore();
    store.getState().setKvEncoding('int8');
    store.getState().setKvBudget('storedKvBudgetMiB', 0.75);
    expect(store.getState().settings).toEqual({ ...DEFAULT_SETTINGS, kvEncoding: 'int8', storedKvBudgetMiB: 0.75 });
    store.getState().setStoredCaches({ c1: { bytes: 4096, tokens: 3, encodings: ['f16'] } });
    expect(store.getState().storedCaches.c1?.tokens).toBe(3);
  });

  it('are read back from storage field by field; invalid ones fall back to the defaults', () => {
    expect(readStoredSettings({ kvEncoding: 'int8', storedKvBudgetMiB: 0.5, gpuKvBudgetMiB: 64 }))
      .toEqual({ ...DEFAULT_SETTINGS, kvEncoding: 'int8', storedKvBudgetMiB: 0.5, gpuKvBudgetMiB: 64 });
    expect(readStoredSettings({ kvEncoding: 'q4', storedKvBudgetMiB: -1, gpuKvBudgetMiB: 1e9, temperature: 0.2 }))
      .toEqual({ ...DEFAULT_SETTINGS, temperature: 0.2 });
    expect(readStoredSettings({ storedKvBudgetMiB: '64' }).storedKvBudgetMiB, 'a string is not a stored number').toBe(512);
    expect(readStoredSettings({ temperature: 1 }), 'settings stored before these existed').toMatchObject(DEFAULT_KV_SETTINGS);
  });
});

describe("a conversation's stored cache in the sidebar", () => {
  it('shows its size, and tokens and formats in the tooltip', () => {
    expect(cacheSizeLabel({ bytes: 21504, tokens: 16, encodings: ['f16'] })).toEqual({
      text: 'KV 21.0 KiB',
      tooltip: 'Latent KV cache stored in this browser: 16 tokens cached, f16, 21,504 bytes',
    });
    expect(cacheSizeLabel({ bytes: 1.25 * 2 ** 20, tokens: 1200, encodings: ['f16', 'int8'] })?.tooltip)
      .toBe('Latent KV cache stored in this browser: 1,200 tokens cached, f16 + int8 (compressed), 1,310,720 bytes');
    expect(cacheSizeLabel({ bytes: 1.25 * 2 ** 20, tokens: 1200, encodings: [] })?.text).toBe('KV 1.3 MiB');
  });

  it('shows nothing without a cache', () => {
    expect(cacheSizeLabel(undefined)).toBeNull();
    expect(cacheSizeLabel({ bytes: 0, tokens: 0, encodings: [] })).toBeNull();
  });

  it('formats bytes in binary units', () => {
    expect([812, 1024, 44544, 3 * 2 ** 20, 2 ** 31].map(formatKvBytes)).toEqual(['812 B', '1.0 KiB', '43.5 KiB', '3.0 MiB', '2.0 GiB']);
  });
});
