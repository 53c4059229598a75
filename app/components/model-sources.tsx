// The side panel's "Models" section: load a package by URL (any http(s) prefix serving manifest.json and the
// shards) or from a local folder (the directory picker where the browser has one, else a webkitdirectory input),
// the models stored in IndexedDB with their size (partly downloaded ones marked) and a Delete button each, and the
// browser's answer to the request for persistent storage.
import { useRef, useState } from 'react';
import { deleteStoredModel, loadModelFromFolder, loadModelFromUrl, pickFolderFiles } from '../model-actions';
import { useAppStore } from '../store';

const MB = 1e6;

function persistenceText(persisted: boolean | null): string {
  if (persisted === null) return 'Storage: not asked yet';
  return persisted ? 'Storage: persistent (the browser keeps stored models)' : 'Storage: best effort (the browser may evict stored models when disk runs low)';
}

export function ModelSources() {
  const [url, setUrl] = useState('');
  const folderInput = useRef<HTMLInputElement>(null);
  const stored = useAppStore((s) => s.storedModels);
  const persisted = useAppStore((s) => s.storagePersisted);
  const busy = useAppStore((s) => s.modelStatus === 'loading' || s.modelStatus === 'restarting' || s.generatingIn !== null);
  const loadedId = useAppStore((s) => s.loadedModel?.id);

  const openFolder = async () => {
    const files = await pickFolderFiles().catch(() => undefined);
    if (files === null) folderInput.current?.click(); // no directory picker in this browser
    else if (files) await loadModelFromFolder(files);
  };

  return (
    <section className="model-sources" data-testid="model-sources">
      <h2>Models</h2>
      <form onSubmit={(e) => { e.preventDefault(); if (url.trim()) void loadModelFromUrl(url); }}>
        <label>Package URL
          <input type="url" data-testid="package-url" placeholder="https://example.org/models/my-model/" value={url}
            onChange={(e) => setUrl(e.target.value)} />
        </label>
        <button type="submit" data-testid="package-url-load" disabled={busy || !url.trim()}>Load from URL</button>
      </form>
      <button type="button" data-testid="package-folder" disabled={busy} onClick={() => void openFolder()}>Load from a folder…</button>
      <input ref={folderInput} type="file" hidden data-testid="package-folder-input"
        {...{ webkitdirectory: '', directory: '' }}
        onChange={(e) => { const files = [...(e.target.files ?? [])]; e.target.value = ''; if (files.length) void loadModelFromFolder(files); }} />
      <p className="storage-persisted" data-testid="storage-persisted">{persistenceText(persisted)}</p>
      <ul className="stored-models">
        {stored.map((model) => (
          <li key={model.entry.id} data-testid="stored-model" data-model-id={model.entry.id} data-complete={model.complete}>
            <span className="stored-model-name">{model.entry.name}</span>{' '}
            <span className="stored-model-size" data-testid="stored-model-size">
              {(model.storedBytes / MB).toFixed(1)} MB{model.complete ? '' : ` of ${(model.totalBytes / MB).toFixed(1)} MB (partial)`}
            </span>
            <button type="button" className="quiet" data-testid="stored-model-delete" disabled={busy && model.entry.id !== loadedId}
              onClick={() => void deleteStoredModel(model.entry.id)}>Delete</button>
          </li>
        ))}
      </ul>
    </section>
  );
}
