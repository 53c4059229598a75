// A TensorSource over a model package, whatever stores its shards: the caller supplies `readBytes(file, offset,
// length)` (Node files here, IndexedDB or fetch in the browser later). `readPacked` returns the words as stored
// (engine/weights/quant.ts layout: data region, then the q8/q4 scale region); `readF32` is `unpackMatrix` of them,
// i.e. the values the kernels compute with. A tensor bigger than a shard is read piecewise across the shards that
// hold it (see manifest.ts). Creating the source checks that the manifest lists every tensor the forward pass reads.
import { badManifest } from '../errors';
import { expectedTensors } from '../weights/expected-tensors';
import { unpackMatrix } from '../weights/quant';
import { formatShape, sameShape, type PackedStream, type PackedTensor, type TensorInfo, type TensorSource } from '../weights/tensor-source';
import { matrixShape, type PackageManifest, type PackageTensor } from './manifest';

export type ShardReader = (file: string, offset: number, length: number) => Promise<Uint8Array>;
/** Hands `length` bytes at `offset` of a shard to `sink` in pieces (`at`: byte offset of the piece in the range);
 *  each piece is valid only during the call. Lets a loader copy a tensor to the GPU without holding it whole. */
export type ShardStreamer = (file: string, offset: number, length: number, sink: (bytes: Uint8Array, at: number) => void) => Promise<void>;

/** The manifest must hold every tensor the engine loads, with the expected shape. */
function checkExpected(manifest: PackageManifest, tensors: ReadonlyMap<string, PackageTensor>, where: string): void {
  for (const { name, shape } of expectedTensors(manifest.config)) {
    const tensor = tensors.get(name);
    if (!tensor) throw badManifest(where, 'tensors', `an entry for ${name} ${formatShape(shape)}`, 'none');
    if (!sameShape(tensor.shape, shape)) {
      throw badManifest(where, `tensors[${manifest.tensors.indexOf(tensor)}].shape`, formatShape(shape), formatShape(tensor.shape));
    }
  }
}

/** The packed bytes of one tensor, gathered from one shard or (when it spans) from consecutive shards. */
async function readTensorBytes(manifest: PackageManifest, tensor: PackageTensor, readBytes: ShardReader): Promise<Uint8Array> {
  const { file, nbytes: shardBytes } = manifest.shards[tensor.shard];
  if (tensor.offset + tensor.nbytes <= shardBytes) { // in one shard: the reader's bytes as they are, no second copy
    const piece = await readBytes(file, tensor.offset, tensor.nbytes);
    if (piece.length !== tensor.nbytes) {
      throw badManifest(file, `tensor ${tensor.name}`, `${tensor.nbytes} bytes at offset ${tensor.offset}`, `${piece.length} bytes`);
    }
    return piece.byteOffset % 4 === 0 ? piece : piece.slice();
  }
  const bytes = new Uint8Array(tensor.nbytes);
  let done = 0;
  let offset = tensor.offset;
  for (let shard = tensor.shard; done < tensor.nbytes; shard++, offset = 0) {
    const { file, nbytes } = manifest.shards[shard];
    const length = Math.min(tensor.nbytes - done, nbytes - offset);
    const piece = await readBytes(file, offset, length);
    if (piece.length !== length) {
      throw badManifest(file, `tensor ${tensor.name}`, `${length} bytes at offset ${offset}`, `${piece.length} bytes`);
    }
    bytes.set(piece, done);
    done += length;
  }
  return bytes;
}

/** The tensor's bytes as pieces from `stream`, shard by shard; each piece checked to lie inside the tensor. */
function streamTensor(manifest: PackageManifest, tensor: PackageTensor, stream: ShardStreamer): PackedStream {
  const read = async (sink: (bytes: Uint8Array, at: number) => void): Promise<void> => {
    let done = 0;
    let offset = tensor.offset;
    for (let shard = tensor.shard; done < tensor.nbytes; shard++, offset = 0) {
      const { file, nbytes } = manifest.shards[shard];
      const length = Math.min(tensor.nbytes - done, nbytes - offset);
      const base = done;
      let got = 0;
      await stream(file, offset, length, (bytes, at) => {
        if (at < 0 || at + bytes.length > length || at % 4 !== 0 || bytes.length % 4 !== 0) {
          throw badManifest(file, `tensor ${tensor.name}`, `4-byte aligned pieces of ${length} bytes at offset ${offset}`, `${bytes.length} bytes at ${at}`);
        }
        got += bytes.length;
        sink(bytes, base + at);
      });
      if (got !== length) throw badManifest(file, `tensor ${tensor.name}`, `${length} bytes at offset ${offset}`, `${got} bytes`);
      done += length;
    }
  };
  return { dtype: tensor.dtype, group: tensor.group, shape: [...tensor.shape], bytes: tensor.nbytes, read };
}

export function createPackageSource(manifest: PackageManifest, readBytes: ShardReader, description = manifest.name,
  streamBytes?: ShardStreamer): TensorSource {
  const tensors = new Map(manifest.tensors.map((t) => [t.name, t]));
  checkExpected(manifest, tensors, description);
  const lookup = (name: string): PackageTensor => {
    const tensor = tensors.get(name);
    if (!tensor) throw badManifest(description, 'tensors', `an entry for ${name}`, 'none');
    return tensor;
  };
  const readPacked = async (name: string): Promise<PackedTensor> => {
    const tensor = lookup(name);
    const bytes = await readTensorBytes(manifest, tensor, readBytes);
    return { dtype: tensor.dtype, shape: [...tensor.shape], group: tensor.group, words: new Uint32Array(bytes.buffer, bytes.byteOffset, tensor.nbytes / 4) };
  };
  return {
    config: manifest.config,
    description,
    names: () => [...tensors.keys()],
    info: (name): TensorInfo | undefined => {
      const tensor = tensors.get(name);
      return tensor && { name, dtype: tensor.dtype, shape: [...tensor.shape] };
    },
    readPacked,
    streamPacked: (name) => {
      const tensor = lookup(name);
      return streamBytes && tensor.offset % 4 === 0 && tensor.nbytes % 4 === 0 ? streamTensor(manifest, tensor, streamBytes) : undefined;
    },
    readF32: async (name) => {
      const packed = await readPacked(name);
      const { rows, k } = matrixShape(packed.shape);
      return unpackMatrix(packed.words, rows, k, packed.dtype, packed.group);
    },
  };
}
