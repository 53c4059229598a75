// The worker's stored models: downloads a package (bundled or by URL) or copies a picked folder into the ModelStore,
// resumable and verified, then opens it for loading. Order of a download: manifest (kept with the record; a package
// whose manifest changed at its origin starts over), the quota check (QUOTA with bytes needed and available, before
// anything large is written), tokenizer files, then the shards one by one (shard-download.ts). One download runs at
// a time; `pause` stops it keeping what is stored, `cancel` stops it and deletes the partial model. A complete
// model whose origin cannot be reached (offline) is used as stored.
import { EngineError } from '../errors';
import { MANIFEST_FILE, parseManifest, parsePackageJson, type PackageManifest } from '../package/manifest';
import { packageUrl } from '../package/package-http';
import type { ModelPackage } from '../worker/model-loader';
import type { LoadProgress, ModelEntry, StorageFacts, StoredModelInfo } from '../worker/protocol';
import { DownloadMeter } from './download-meter';
import { CHUNK_BYTES, ModelStore, storedBytes, type StoredModelRecord } from './model-store';
import { abortedError, folderOrigin, urlOrigin, type PackageOrigin } from './package-origin';
import { storeShard } from './shard-download';
import { openStoredPackage } from './stored-package';

const TOKENIZER_ALLOWANCE = 16 * 1024 * 1024; // tokenizer files are not in the manifest's byte table

export interface StoreOptions {
  onProgress: (progress: LoadProgress) => void;
  storage?: StorageFacts;
}

const shardBytes = (manifest: PackageManifest) => manifest.shards.reduce((sum, shard) => sum + shard.nbytes, 0);

async function storageFacts(given?: StorageFacts): Promise<StorageFacts | null> {
  if (given) return given;
  const estimate = await (globalThis as { navigator?: Navigator }).navigator?.storage?.estimate?.();
  return estimate?.quota !== undefined ? { quota: estimate.quota, usage: estimate.usage ?? 0 } : null;
}

/** QUOTA when what is still to store does not fit in what the browser allows this site. */
async function checkQuota(record: StoredModelRecord, given?: StorageFacts): Promise<void> {
  const facts = await storageFacts(given);
  if (!facts) return;
  const needed = record.totalBytes - storedBytes(record) + TOKENIZER_ALLOWANCE;
  const available = Math.max(0, facts.quota - facts.usage);
  if (needed > available) {
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    throw new EngineError('QUOTA',
      `${record.entry.name} needs ${mb(needed)} (${needed} bytes) more storage, but this browser allows this site only ${mb(available)} (${available} bytes) more. Delete stored models you no longer use, free disk space, or allow persistent storage, then load again.`,
      { needed, available, quota: facts.quota, usage: facts.usage });
  }
}

export class ModelLibrary {
  private running: AbortController | null = null;
  private settled: Promise<unknown> = Promise.resolve(); // the running download, settled either way

  constructor(readonly store: ModelStore = new ModelStore()) {}

  /** A ModelEntry for the package at `url` (its manifest read and checked). */
  async describeUrl(url: string): Promise<ModelEntry> {
    const prefix = packageUrl(url);
    const controller = new AbortController();
    const manifest = parseManifest(parsePackageJson(await urlOrigin(prefix).readText(MANIFEST_FILE, controller.signal), prefix + MANIFEST_FILE), prefix + MANIFEST_FILE);
    return entryFor(manifest, prefix, prefix, 'from URL');
  }

  /** Stored models, complete or partial, with their bytes. */
  async list(): Promise<StoredModelInfo[]> {
    return (await this.store.records()).map((record) => ({
      entry: record.entry, origin: record.origin, storedBytes: storedBytes(record), totalBytes: record.totalBytes, complete: record.complete,
    }));
  }

  delete(id: string): Promise<void> {
    return this.store.deleteModel(id);
  }

  /** Stops the running download; what is stored stays (load again to resume). */
  pause(): void {
    this.running?.abort('paused');
  }

  /** Stops the running download (if it is `id`'s) and deletes what `id` has stored. */
  async cancel(id: string): Promise<void> {
    this.running?.abort('cancelled');
    await this.settled.catch(() => {}); // no chunk write may land after the delete
    await this.store.deleteModel(id);
  }

  /** Makes sure `entry` is stored completely (downloading what is missing) and opens it for loading. */
  async openEntry(entry: ModelEntry, options: StoreOptions): Promise<ModelPackage> {
    const record = await this.store.record(entry.id);
    if (!entry.url) { // a folder: only what was copied
      if (!record?.complete) throw new EngineError('NETWORK', `${entry.name} was not copied completely. Pick its folder again to finish the copy.`, { model: entry.id });
      return openStoredPackage(this.store, record);
    }
    const complete = await this.download(entry, urlOrigin(packageUrl(entry.url)), options, record);
    return openStoredPackage(this.store, complete);
  }

  /** Copies a picked folder's package into the store (verified like a download); returns its entry. */
  async importFolder(files: readonly File[], options: StoreOptions): Promise<ModelEntry> {
    const origin = folderOrigin(files);
    const manifest = parseManifest(parsePackageJson(await origin.readText(MANIFEST_FILE, new AbortController().signal), origin.where), origin.where);
    const entry = entryFor(manifest, `folder:${manifest.name}`, '', 'from a folder');
    await this.download(entry, origin, options, await this.store.record(entry.id));
    return entry;
  }

  private download(entry: ModelEntry, origin: PackageOrigin, options: StoreOptions, stored: StoredModelRecord | undefined): Promise<StoredModelRecord> {
    if (this.running) throw new EngineError('ABORTED', 'Another download is running. Pause or cancel it first.', { busy: true });
    const controller = new AbortController();
    this.running = controller;
    const done = this.run(entry, origin, options, stored, controller).finally(() => {
      if (this.running === controller) this.running = null;
    });
    this.settled = done;
    return done;
  }

  private async run(entry: ModelEntry, origin: PackageOrigin, options: StoreOptions, stored: StoredModelRecord | undefined,
    controller: AbortController): Promise<StoredModelRecord> {
    let manifestJson: unknown;
    try {
      manifestJson = parsePackageJson(await origin.readText(MANIFEST_FILE, controller.signal), origin.where + MANIFEST_FILE);
    } catch (error) {
      if (stored?.complete && (error as EngineError).code === 'NETWORK') return stored; // offline: use what is stored
      throw error;
    }
    const manifest = parseManifest(manifestJson, origin.where + MANIFEST_FILE);
    const { record, fresh } = await this.recordFor(entry, origin, manifestJson, manifest, stored);
    if (record.complete) return record;
    await checkQuota(record, options.storage);
    if (fresh) { // only now: a refused download leaves nothing behind
      await this.store.putManifest(entry.id, manifestJson);
      await this.store.putRecord(record);
    }
    const signal = controller.signal;
    for (const name of manifest.tokenizer) {
      if ((await this.store.file(entry.id, name)) === undefined) await this.store.putFile(entry.id, name, await origin.readText(name, signal));
    }
    const meter = new DownloadMeter(record.totalBytes, storedBytes(record), options.onProgress);
    meter.flush();
    for (const shard of manifest.shards) {
      if (signal.aborted) throw abortedError(String(signal.reason));
      await storeShard({ store: this.store, record, origin, shard, signal, onBytes: (delta) => meter.add(delta) });
    }
    meter.flush();
    record.complete = true;
    await this.store.putRecord(record);
    return record;
  }

  /** The stored record, or a fresh one (not yet stored) when there is none or the origin's manifest changed. */
  private async recordFor(entry: ModelEntry, origin: PackageOrigin, manifestJson: unknown, manifest: PackageManifest,
    stored: StoredModelRecord | undefined): Promise<{ record: StoredModelRecord; fresh: boolean }> {
    if (stored && stored.chunkBytes === CHUNK_BYTES
      && JSON.stringify(await this.store.manifest(entry.id)) === JSON.stringify(manifestJson)) return { record: stored, fresh: false };
    if (stored) await this.store.deleteModel(entry.id);
    const record: StoredModelRecord = {
      entry: { ...entry, bytes: shardBytes(manifest) }, origin: origin.kind, chunkBytes: CHUNK_BYTES, totalBytes: shardBytes(manifest), shards: {}, complete: false,
    };
    return { record, fresh: true };
  }
}

function entryFor(manifest: PackageManifest, id: string, url: string, label: string): ModelEntry {
  return {
    id, name: manifest.name, url, label, family: manifest.config.family, quantisation: manifest.quantisation.description,
    bytes: shardBytes(manifest), bundled: false,
  };
}
