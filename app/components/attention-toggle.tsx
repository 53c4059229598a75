// Sparse (DSA) / dense attention for the next request, shown only when the loaded model has the DSA indexer. The
// button's text is the current mode ('sparse' or 'dense'); clicking switches it.
import { useAppStore } from '../store';

export function AttentionToggle() {
  const hasIndexer = useAppStore((s) => s.loadedModel?.hasIndexer === true);
  const attention = useAppStore((s) => s.settings.attention);
  const setAttention = useAppStore((s) => s.setAttention);
  if (!hasIndexer) return null;
  const other = attention === 'sparse' ? 'dense' : 'sparse';
  return (
    <div className="attention-toggle">
      <span className="attention-label">Attention</span>
      <button
        type="button"
        data-testid="attention-toggle"
        data-mode={attention}
        aria-pressed={attention === 'sparse'}
        title={attention === 'sparse' ? 'Sparse attention (DSA lightning indexer, top-k): click for dense' : 'Dense attention over the whole context: click for sparse (DSA)'}
        onClick={() => setAttention(other)}
      >
        {attention}
      </button>
    </div>
  );
}
