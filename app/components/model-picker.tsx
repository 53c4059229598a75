// The model picker (bundled and stored models; the label, e.g. 'random weights', beside each name) and the
// loaded model's status: starting, downloading into IndexedDB (bytes, percent, rate, time left, with pause, resume
// and cancel), loading with progress, ready, paused or failed.
import { loadModel } from '../engine-actions';
import { cancelDownload, pauseDownload, resumeDownload } from '../model-actions';
import { useAppStore } from '../store';
import type { AppStore } from '../store';
import type { LoadProgress } from '../../engine/worker/protocol';

const MB = 1e6;

/** The label ('random weights') unless the name already says it. */
function extraLabel(name: string, label: string): string {
  return label && !name.toLowerCase().includes(label.toLowerCase()) ? label : '';
}

/** "12.3 / 30.8 MB (40%) · 5.2 MB/s · 4 s left" */
export function downloadText(p: LoadProgress): string {
  const percent = p.totalBytes > 0 ? Math.floor((100 * p.loadedBytes) / p.totalBytes) : 0;
  const rate = p.bytesPerSecond ? ` · ${(p.bytesPerSecond / MB).toFixed(1)} MB/s` : '';
  const left = p.secondsLeft !== undefined ? ` · ${Math.ceil(p.secondsLeft)} s left` : '';
  return `${(p.loadedBytes / MB).toFixed(1)} / ${(p.totalBytes / MB).toFixed(1)} MB (${percent}%)${rate}${left}`;
}

function statusText(s: AppStore): string {
  switch (s.modelStatus) {
    case 'paused': return `Download paused${s.loadProgress ? ` at ${downloadText(s.loadProgress)}` : ''}`;
    case 'starting': return 'Starting the engine…';
    case 'restarting': return 'Restarting the engine…';
    case 'none': return 'No model installed';
    case 'failed': return 'Model not loaded';
    case 'ready': return `${s.loadedModel?.name ?? 'Model'} ready`;
    case 'loading': {
      const p = s.loadProgress;
      if (!p) return 'Loading the model…';
      if (p.phase === 'download') return `Downloading ${downloadText(p)}…`;
      const bytes = p.totalBytes > 0 ? ` ${(p.loadedBytes / MB).toFixed(1)} / ${(p.totalBytes / MB).toFixed(1)} MB` : '';
      return `Loading (${p.phase})${bytes}…`;
    }
  }
}

export function ModelPicker() {
  const models = useAppStore((s) => s.models);
  const selectedId = useAppStore((s) => s.loadedModel?.id ?? s.chosenModelId ?? '');
  const status = useAppStore(statusText);
  const modelStatus = useAppStore((s) => s.modelStatus);
  const progress = useAppStore((s) => s.loadProgress);
  const busy = useAppStore((s) => s.generatingIn !== null || s.modelStatus === 'loading' || s.modelStatus === 'restarting');
  const loadedLabel = useAppStore((s) => (s.loadedModel ? extraLabel(s.loadedModel.name, s.loadedModel.label) : ''));
  const value = models.some((m) => m.id === selectedId) ? selectedId : (models.find((m) => m.bundled)?.id ?? '');

  return (
    <div className="model-picker">
      <select
        data-testid="model-select"
        aria-label="Model"
        value={value}
        disabled={busy || models.length === 0}
        onChange={(e) => {
          const entry = models.find((m) => m.id === e.target.value);
          if (entry) void loadModel(entry, true);
        }}
      >
        {models.length === 0 && <option value="">No models</option>}
        {models.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name}{extraLabel(m.name, m.label) ? ` (${m.label})` : ''} · {m.quantisation} · {(m.bytes / MB).toFixed(0)} MB
          </option>
        ))}
      </select>
      <span className={`model-status status-${modelStatus}`} data-testid="model-status" role="status">
        {status}
        {modelStatus === 'ready' && loadedLabel && <span className="model-label">{loadedLabel}</span>}
      </span>
      {(modelStatus === 'loading' || modelStatus === 'paused') && progress && progress.totalBytes > 0 && (
        <progress className="model-progress" data-testid="model-progress" data-phase={progress.phase}
          max={progress.totalBytes} value={progress.loadedBytes} />
      )}
      {modelStatus === 'loading' && progress?.phase === 'download' && (
        <button type="button" className="quiet" data-testid="download-pause" onClick={pauseDownload}>Pause</button>
      )}
      {modelStatus === 'paused' && (
        <button type="button" data-testid="download-resume" onClick={() => void resumeDownload()}>Resume</button>
      )}
      {(modelStatus === 'paused' || (modelStatus === 'loading' && progress?.phase === 'download')) && (
        <button type="button" className="quiet" data-testid="download-cancel" onClick={() => void cancelDownload()}>Cancel</button>
      )}
    </div>
  );
}
