// Generation settings: system prompt and sampling (temperature, top-p, top-k, repetition penalty, max new tokens),
// each applied to the next request. Numbers are clamped to the ranges in store/types.ts. Then the latent KV cache
// settings (kv-cache-settings.tsx).
import { useAppStore } from '../store';
import type { NumericSetting } from '../store/types';
import { SETTING_RANGES } from '../store/types';
import { KvCacheSettings } from './kv-cache-settings';

const LABELS: Record<NumericSetting, string> = {
  temperature: 'Temperature (0 = greedy)',
  topP: 'Top-p',
  topK: 'Top-k (0 = off)',
  repetitionPenalty: 'Repetition penalty (1 = off)',
  maxNewTokens: 'Max new tokens',
};

function NumberSetting({ name }: { name: NumericSetting }) {
  const value = useAppStore((s) => s.settings[name]);
  const setNumericSetting = useAppStore((s) => s.setNumericSetting);
  const { min, max, step } = SETTING_RANGES[name];
  return (
    <label className="setting">
      <span>{LABELS[name]}</span>
      <input type="number" data-testid={`setting-${name}`} min={min} max={max} step={step} value={value}
        onChange={(e) => { if (e.target.value !== '') setNumericSetting(name, Number(e.target.value)); }} />
    </label>
  );
}

export function SettingsPanel() {
  const systemPrompt = useAppStore((s) => s.settings.systemPrompt);
  const setSystemPrompt = useAppStore((s) => s.setSystemPrompt);
  return (
    <section className="panel settings-panel" aria-label="Settings">
      <h2>Settings</h2>
      <label className="setting setting-wide">
        <span>System prompt</span>
        <textarea data-testid="setting-system-prompt" rows={3} value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />
      </label>
      {(Object.keys(LABELS) as NumericSetting[]).map((name) => <NumberSetting key={name} name={name} />)}
      <KvCacheSettings />
    </section>
  );
}
