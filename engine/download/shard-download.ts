// Stores one shard of a package into the ModelStore, streamed: the bytes arrive from the origin piece by piece, are
// gathered into one chunk buffer (CHUNK_BYTES) and written as a chunk with the record counting it, so at most one
// chunk of the shard is ever in memory. SHA-256 runs incrementally (@noble/hashes) over the bytes as they are
// stored. noble's hash state cannot be saved, so a resumed shard first rehashes its stored chunks from IndexedDB,
// one at a time, then continues from its last stored chunk (`Range: bytes=<stored>-`); an origin that starts from 0
// instead (a server ignoring Range) gets the shard started over. The finished shard's digest must equal the
// manifest's: a mismatch deletes the shard and fetches it once more; a second mismatch is INTEGRITY naming it.
import { sha256 } from '@noble/hashes/sha2.js';
import { EngineError } from '../errors';
import type { PackageShard } from '../package/manifest';
import { networkError } from '../package/package-http';
import { abortedError, type PackageOrigin } from './package-origin';
import type { ModelStore, StoredModelRecord, StoredShardState } from './model-store';

type Sha256 = ReturnType<typeof sha256.create>;

const MAX_QUEUED_CHUNKS = 4; // chunks received and waiting for IndexedDB: the most a shard holds in memory

/** Writes one chunk with the record counting it; a full disk or quota is QUOTA, not a broken download. */
async function putChunk(job: ShardJob, index: number, bytes: Uint8Array): Promise<void> {
  try {
    await job.store.putChunk(job.record, job.shard.file, index, bytes); // cloned by IndexedDB before this resolves
  } catch (error) {
    if ((error as DOMException).name !== 'QuotaExceededError') throw error;
    throw new EngineError('QUOTA', `The browser refused to store more of ${job.record.entry.name} (its storage quota is full). Delete stored models you no longer use or free disk space, then load again: what is stored is kept.`,
      { model: job.record.entry.id, shard: job.shard.file });
  }
}

export interface ShardJob {
  store: ModelStore;
  record: StoredModelRecord;
  origin: PackageOrigin;
  shard: PackageShard;
  signal: AbortSignal;
  /** Bytes received (positive) or dropped from the stored total (negative), for the progress meter. */
  onBytes: (delta: number) => void;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Makes sure the shard is stored and verified: skips a verified one, resumes a partial one, retries a bad one once. */
export async function storeShard(job: ShardJob): Promise<void> {
  const state = (job.record.shards[job.shard.file] ??= { chunks: 0, bytes: 0, verified: false });
  if (state.verified) return;
  for (let attempt = 1; ; attempt++) {
    const found = await storeShardOnce(job, state);
    if (found === job.shard.sha256) return;
    await dropShard(job, state); // damaged: never kept
    if (attempt === 2) {
      throw new EngineError('INTEGRITY',
        `${job.shard.file} of ${job.record.entry.name} came with the wrong SHA-256 twice (expected ${job.shard.sha256}, got ${found}); it was deleted. The copy at ${job.origin.where} is damaged or changing: try again later or get the package from another source.`,
        { shard: job.shard.file, expected: job.shard.sha256, found, where: job.origin.where });
    }
  }
}

async function dropShard(job: ShardJob, state: StoredShardState): Promise<void> {
  job.onBytes(-state.bytes);
  Object.assign(state, { chunks: 0, bytes: 0, verified: false });
  await job.store.dropShard(job.record, job.shard.file);
}

/** The stored chunks' hash so far; a missing chunk (should not happen) drops the shard so it starts over. */
async function rehashStored(job: ShardJob, state: StoredShardState): Promise<Sha256> {
  const hasher = sha256.create();
  for (let index = 0; index < state.chunks; index++) {
    const chunk = await job.store.chunk(job.record.entry.id, job.shard.file, index);
    if (!chunk) {
      await dropShard(job, state);
      return sha256.create();
    }
    hasher.update(chunk);
  }
  return hasher;
}

/** Streams the rest of the shard into the store; returns the whole shard's SHA-256 (hex). */
async function storeShardOnce(job: ShardJob, state: StoredShardState): Promise<string> {
  const { record, shard, signal } = job;
  let hasher = await rehashStored(job, state);
  if (state.bytes === shard.nbytes) return finish(job, state, hasher); // all stored, stopped before the check
  const stream = await job.origin.openShard(shard.file, state.bytes, signal);
  if (stream.from !== state.bytes) { // the origin started over: so do we
    await dropShard(job, state);
    hasher = sha256.create();
  }
  // Reading runs ahead of the IndexedDB writes (at most MAX_QUEUED_CHUNKS waiting): bytes a browser has received
  // but the page has not read are lost when the connection drops, so the body is drained as it arrives.
  let pending = new Uint8Array(record.chunkBytes);
  let filled = 0;
  let writes: Promise<void> = Promise.resolve();
  let queued = 0;
  let received = state.bytes; // bytes of the shard stored, queued or pending
  const storeChunk = async (bytes: Uint8Array) => {
    hasher.update(bytes);
    state.chunks++;
    state.bytes += bytes.length;
    await putChunk(job, state.chunks - 1, bytes);
  };
  const queueChunk = async (bytes: Uint8Array) => {
    queued++;
    writes = writes.then(() => storeChunk(bytes)).finally(() => { queued--; });
    writes.catch(() => {}); // observed by the awaits below; not an unhandled rejection meanwhile
    if (queued >= MAX_QUEUED_CHUNKS) await writes;
  };
  const reader = stream.body.getReader();
  try {
    for (;;) {
      let piece: ReadableStreamReadResult<Uint8Array>;
      try {
        piece = await reader.read();
      } catch (cause) {
        await writes; // what arrived in whole chunks is kept
        if (signal.aborted) throw abortedError(String(signal.reason ?? 'stopped'));
        throw networkError(`${job.origin.where}${shard.file}`,
          `the connection dropped after ${received} of ${shard.nbytes} bytes (${(cause as Error).message}); the ${state.bytes} bytes stored are kept and the download resumes from there`,
          { resumable: true, storedBytes: state.bytes });
      }
      if (piece.done) break;
      let bytes = piece.value;
      received += bytes.length;
      if (received > shard.nbytes) {
        throw new EngineError('INTEGRITY', `${shard.file} of ${record.entry.name} is longer than the manifest's ${shard.nbytes} bytes. The package at ${job.origin.where} does not match its manifest: re-convert or re-upload it.`,
          { shard: shard.file, expected: shard.nbytes });
      }
      job.onBytes(bytes.length);
      while (bytes.length > 0) {
        const take = Math.min(bytes.length, pending.length - filled);
        pending.set(bytes.subarray(0, take), filled);
        filled += take;
        bytes = bytes.subarray(take);
        if (filled === pending.length) {
          const full = pending;
          pending = new Uint8Array(record.chunkBytes);
          filled = 0;
          await queueChunk(full);
        }
      }
      if (signal.aborted) {
        await writes;
        throw abortedError(String(signal.reason ?? 'stopped'));
      }
    }
    await writes;
  } finally {
    reader.releaseLock();
    if (signal.aborted) await stream.body.cancel().catch(() => {});
  }
  if (received < shard.nbytes) {
    throw networkError(`${job.origin.where}${shard.file}`,
      `the answer ended after ${received} of ${shard.nbytes} bytes; the ${state.bytes} bytes stored are kept and the download resumes from there`,
      { resumable: true, storedBytes: state.bytes });
  }
  if (filled > 0) await storeChunk(pending.slice(0, filled)); // a copy: a view would clone the whole buffer
  return finish(job, state, hasher);
}

/** The whole shard's digest (hex); a match marks the shard verified in the stored record. */
async function finish(job: ShardJob, state: StoredShardState, hasher: Sha256): Promise<string> {
  const found = hex(hasher.digest());
  if (found === job.shard.sha256) {
    state.verified = true;
    await job.store.putRecord(job.record);
  }
  return found;
}
