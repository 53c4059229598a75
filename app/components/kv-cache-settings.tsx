// The latent KV cache settings: the stored format (f16, or int8 "compressed", each with the loaded model's bytes
// per token beside it) and the two budgets in MiB. A budget is typed freely and applied on Enter or when the field
// is left; invalid text (empty, not a number, negative, absurdly large) shows a message under the field and is not
// applied. Applying goes through the store; app/kv-cache-actions.ts sends it to the engine, which evicts at once.
import { useEffect, useState } from 'react';
import { useAppStore } from '../store';
import { KV_BUDGETS, parseBudgetMiB, type KvBudgetSetting } from '../store/kv-settings';

const BUDGET_TEST_IDS: Record<KvBudgetSetting, string> = {
  storedKvBudgetMiB: 'setting-kv-stored-budget',
  gpuKvBudgetMiB: 'setting-kv-gpu-budget',
};

function BudgetSetting({ name }: { name: KvBudgetSetting }) {
  const applied = useAppStore((s) => s.settings[name]);
  const setKvBudget = useAppStore((s) => s.setKvBudget);
  const [draft, setDraft] = useState(String(applied));
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => { setDraft(String(applied)); setProblem(null); }, [applied]);
  const testId = BUDGET_TEST_IDS[name];
  const apply = () => {
    const parsed = parseBudgetMiB(draft, name);
    if (!parsed.ok) {
      setProblem(parsed.message);
      return;
    }
    setProblem(null);
    if (parsed.mib !== applied) setKvBudget(name, parsed.mib);
  };
  return (
    <>
      <label className="setting">
        <span>{KV_BUDGETS[name].label}</span>
        <input type="text" inputMode="decimal" data-testid={testId} value={draft} aria-invalid={problem !== null}
          data-applied={applied} onChange={(e) => setDraft(e.target.value)} onBlur={apply}
          onKeyDown={(e) => { if (e.key === 'Enter') apply(); }} />
      </label>
      {problem && <p className="setting-error" role="alert" data-testid={`${testId}-error`}>{problem}</p>}
    </>
  );
}

export function KvCacheSettings() {
  const encoding = useAppStore((s) => s.settings.kvEncoding);
  const setKvEncoding = useAppStore((s) => s.setKvEncoding);
  const perToken = useAppStore((s) => s.loadedModel?.storedBytesPerToken);
  const bytesNote = (format: 'f16' | 'int8') => (perToken ? ` · ${perToken[format].toLocaleString('en')} B/token` : '');
  return (
    <fieldset className="kv-cache-settings">
      <legend>Latent KV cache</legend>
      <label className="setting setting-wide">
        <span>Stored format</span>
        <select data-testid="setting-kv-encoding" value={encoding} onChange={(e) => setKvEncoding(e.target.value === 'int8' ? 'int8' : 'f16')}>
          <option value="f16">f16{bytesNote('f16')}</option>
          <option value="int8">int8, compressed{bytesNote('int8')}</option>
        </select>
      </label>
      {perToken && (
        <p className="setting-note" data-testid="kv-bytes-per-token" data-f16={perToken.f16} data-int8={perToken.int8}>
          This model stores {perToken[encoding].toLocaleString('en')} bytes per token in {encoding}
          {' '}({encoding === 'f16' ? `int8: ${perToken.int8.toLocaleString('en')}` : `f16: ${perToken.f16.toLocaleString('en')}`}).
        </p>
      )}
      <BudgetSetting name="storedKvBudgetMiB" />
      <BudgetSetting name="gpuKvBudgetMiB" />
    </fieldset>
  );
}
