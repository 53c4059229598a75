// The latent KV cache settings the person picks (app/components/kv-cache-settings.tsx): the stored format (f16, or
// int8 "compressed") and two budgets in MiB, one for all conversations' caches stored in the browser and one for
// the inactive conversations' copies kept on the GPU. Budgets are typed as text and checked here before anything
// is applied: a value that is not a plain non-negative number, or absurdly large, gets a message and is not used.
// Also the sidebar's size label and tooltip for one conversation's stored cache.
import type { KvCacheOptions, KvStorageFormat, StoredCacheInfo } from '../../engine/worker/protocol';

export type KvBudgetSetting = 'storedKvBudgetMiB' | 'gpuKvBudgetMiB';

export interface KvSettings {
  kvEncoding: KvStorageFormat;
  storedKvBudgetMiB: number; // all conversations' stored caches (least recently used dropped first)
  gpuKvBudgetMiB: number; // inactive conversations' GPU copies
}

export const DEFAULT_KV_SETTINGS: KvSettings = { kvEncoding: 'f16', storedKvBudgetMiB: 512, gpuKvBudgetMiB: 256 };

export const KV_BUDGETS: Record<KvBudgetSetting, { label: string; maxMiB: number }> = {
  storedKvBudgetMiB: { label: 'Stored cache budget (MiB)', maxMiB: 1024 * 1024 }, // 1 TiB: more is a typo
  gpuKvBudgetMiB: { label: 'GPU cache budget (MiB)', maxMiB: 64 * 1024 }, // no browser GPU holds 64 GiB for this
};

const MIB = 2 ** 20;

export type BudgetInput = { ok: true; mib: number } | { ok: false; message: string };

/** Reads a budget typed in MiB ("512", "0.25"); says what is wrong with anything else. */
export function parseBudgetMiB(text: string, setting: KvBudgetSetting): BudgetInput {
  const trimmed = text.trim();
  const { maxMiB } = KV_BUDGETS[setting];
  if (trimmed === '') return { ok: false, message: 'Enter a size in MiB (0 keeps no cache).' };
  const value = Number(trimmed);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(trimmed) || !Number.isFinite(value)) {
    return { ok: false, message: `"${trimmed}" is not a number: enter a size in MiB, such as 512 or 0.5.` };
  }
  if (value < 0) return { ok: false, message: 'A budget cannot be negative: enter 0 or more MiB.' };
  if (value > maxMiB) return { ok: false, message: `At most ${maxMiB.toLocaleString('en')} MiB: enter a smaller size.` };
  return { ok: true, mib: value };
}

/** Whole bytes of a budget in MiB (rounded down, so the cap is never above what was typed). */
export function budgetBytes(mib: number): number {
  return Math.floor(mib * MIB);
}

/** What the engine's configureKvCache gets for these settings. */
export function kvCacheOptions(settings: KvSettings): Required<KvCacheOptions> {
  return {
    encoding: settings.kvEncoding,
    storedBudgetBytes: budgetBytes(settings.storedKvBudgetMiB),
    gpuBudgetBytes: budgetBytes(settings.gpuKvBudgetMiB),
  };
}

/** Stored KV settings read back from IndexedDB: each field kept only when valid, else its default. */
export function readStoredKvSettings(value: Record<string, unknown>): KvSettings {
  const settings = { ...DEFAULT_KV_SETTINGS };
  if (value.kvEncoding === 'f16' || value.kvEncoding === 'int8') settings.kvEncoding = value.kvEncoding;
  for (const name of Object.keys(KV_BUDGETS) as KvBudgetSetting[]) {
    const stored = value[name];
    if (typeof stored === 'number' && parseBudgetMiB(String(stored), name).ok) settings[name] = stored;
  }
  return settings;
}

/** A byte count in binary units, one decimal above 1 KiB: "812 B", "43.5 KiB", "1.2 MiB". */
export function formatKvBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

const FORMAT_NAMES: Record<KvStorageFormat, string> = { f16: 'f16', int8: 'int8 (compressed)' };

/** The sidebar's label for a conversation's stored cache, or null when it has none. */
export function cacheSizeLabel(info: StoredCacheInfo | undefined): { text: string; tooltip: string } | null {
  if (!info || info.bytes <= 0) return null;
  const formats = info.encodings.length > 0 ? info.encodings.map((f) => FORMAT_NAMES[f]).join(' + ') : 'unknown format';
  return {
    text: `KV ${formatKvBytes(info.bytes)}`,
    tooltip: `Latent KV cache stored in this browser: ${info.tokens.toLocaleString('en')} tokens cached, ${formats}, ${info.bytes.toLocaleString('en')} bytes`,
  };
}
