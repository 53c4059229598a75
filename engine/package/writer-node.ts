// Streams a package's shards to a folder in Node. A tensor is placed before its bytes exist (its packed size is
// known from its shape), then written piecewise at byte offsets inside it, so a converter can pack a big tensor in
// row blocks and write each block's data and scale words where the finished layout has them. Placement (see
// manifest.ts): the next 256-byte aligned offset of the current shard if the tensor fits there, else offset 0 of
// a fresh shard; a tensor bigger than a shard starts a fresh shard and continues at offset 0 of the following ones,
// filling each but its last. A shard is hashed (SHA-256, read back from disk) once no later tensor can touch it.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageDtype } from '../weights/quant';
import { sha256OfFile } from './package-node';
import { MAX_SHARD_BYTES, TENSOR_ALIGNMENT, packedBytes, shardFileName, type PackageShard, type PackageTensor } from './manifest';

export interface TensorSink {
  readonly tensor: PackageTensor;
  /** Writes `bytes` at byte `at` of the tensor's packed words. */
  write(at: number, bytes: Uint8Array): Promise<void>;
}

export class PackageWriter {
  private readonly tensors: PackageTensor[] = [];
  private readonly shards: PackageShard[] = [];
  private readonly handles = new Map<number, FileHandle>();
  private current = -1; // index of the shard new tensors go to
  private used = 0; // bytes placed in it

  constructor(private readonly dir: string, private readonly shardLimit = MAX_SHARD_BYTES) {
    if (!(Number.isInteger(shardLimit) && shardLimit > 0 && shardLimit % TENSOR_ALIGNMENT === 0 && shardLimit <= MAX_SHARD_BYTES)) {
      throw new Error(`shard limit must be a positive multiple of ${TENSOR_ALIGNMENT} up to ${MAX_SHARD_BYTES}, not ${shardLimit}`);
    }
  }

  /** Places a tensor of `shape` packed as `dtype`/`group` and returns where to write its bytes. */
  async beginTensor(name: string, dtype: StorageDtype, shape: number[], group: number): Promise<TensorSink> {
    const nbytes = packedBytes(dtype, shape, group);
    const aligned = Math.ceil(this.used / TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT;
    let shard: number;
    let offset: number;
    if (this.current >= 0 && aligned + nbytes <= this.shardLimit) {
      shard = this.current;
      offset = aligned;
      this.used = aligned + nbytes;
    } else {
      shard = this.current + 1;
      offset = 0;
      const spanned = Math.ceil(nbytes / this.shardLimit);
      this.current = shard + spanned - 1;
      this.used = nbytes - (spanned - 1) * this.shardLimit;
    }
    await this.closeShardsBefore(shard);
    const tensor: PackageTensor = { name, dtype, shape: [...shape], shard, offset, nbytes, group };
    this.tensors.push(tensor);
    return { tensor, write: (at, bytes) => this.writeTensorBytes(tensor, at, bytes) };
  }

  private async writeTensorBytes(tensor: PackageTensor, at: number, bytes: Uint8Array): Promise<void> {
    if (at < 0 || at + bytes.length > tensor.nbytes) {
      throw new Error(`${tensor.name}: write of ${bytes.length} bytes at ${at} overruns its ${tensor.nbytes} bytes`);
    }
    let done = 0;
    while (done < bytes.length) {
      const position = tensor.offset + at + done; // spanning tensors start at offset 0, so this maps onto shards
      const shard = tensor.shard + Math.floor(position / this.shardLimit);
      const inShard = position % this.shardLimit;
      const length = Math.min(bytes.length - done, this.shardLimit - inShard);
      const handle = await this.handle(shard);
      let written = 0;
      while (written < length) {
        const { bytesWritten } = await handle.write(bytes, done + written, length - written, inShard + written);
        written += bytesWritten;
      }
      done += length;
    }
  }

  private async handle(shard: number): Promise<FileHandle> {
    let handle = this.handles.get(shard);
    if (!handle) {
      handle = await open(join(this.dir, shardFileName(shard)), 'w');
      this.handles.set(shard, handle);
    }
    return handle;
  }

  /** Closes and hashes every shard below `shard` (no later tensor writes there). */
  private async closeShardsBefore(shard: number): Promise<void> {
    for (let index = this.shards.length; index < shard; index++) {
      await this.handles.get(index)?.close();
      this.handles.delete(index);
      const path = join(this.dir, shardFileName(index));
      this.shards.push({ file: shardFileName(index), nbytes: (await stat(path)).size, sha256: await sha256OfFile(path) });
    }
  }

  /** Finishes every shard; returns the manifest's tensor and shard tables. */
  async finish(): Promise<{ tensors: PackageTensor[]; shards: PackageShard[] }> {
    await this.closeShardsBefore(this.current + 1);
    return { tensors: this.tensors, shards: this.shards };
  }

  /** Closes open files after a failure (the caller removes the folder). */
  async abort(): Promise<void> {
    await Promise.allSettled([...this.handles.values()].map((handle) => handle.close()));
    this.handles.clear();
  }
}
