// Tensors in the format a WeightPlan gives them (weight-plan.ts `storageFor`), ready to upload: a package's own
// packed words when the source has them in exactly that format and group (uploaded as they are), else the f32
// values packed here. Fused weights (gate;up, stacked experts, indexer wk;weights_proj) are stacked along rows
// with concatPacked, so their parts must share format, group and K. `streamed` gives the same fused words as
// pieces placed where concatPacked would put them, for a loader that copies them to the GPU chunk by chunk.
import { badCheckpoint } from '../errors';
import { concatPacked, packedLayout, packMatrix } from '../weights/quant';
import type { PackedStream, PackedTensor, TensorSource } from '../weights/tensor-source';
import { describePlan, storageFor, type WeightPlan } from '../weights/weight-plan';

function rowsOf(shape: readonly number[]): number {
  return shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

export class TensorStorage {
  constructor(private readonly source: TensorSource, readonly plan: WeightPlan) {}

  shapeOf(name: string): number[] {
    const info = this.source.info(name);
    if (!info) throw badCheckpoint(name, 'a tensor of this name', 'none', 'Is the checkpoint complete and of the architecture its config names?');
    return info.shape;
  }

  /** One tensor, [rows, K], in the plan's format. */
  async packed(name: string): Promise<PackedTensor> {
    const shape = this.shapeOf(name);
    const { dtype, group } = storageFor(name, shape, this.plan);
    const stored = this.source.readPacked ? await this.source.readPacked(name) : undefined;
    if (stored && stored.dtype === dtype && stored.group === group) {
      if (stored.shape.join() !== shape.join()) {
        throw badCheckpoint(name, `packed shape [${shape}]`, `[${stored.shape}]`, 'The package is damaged; convert it again.');
      }
      return stored;
    }
    const values = await this.source.readF32(name);
    const words = dtype === 'f32'
      ? new Uint32Array(values.buffer, values.byteOffset, values.length)
      : packMatrix(values, rowsOf(shape), shape[shape.length - 1], dtype, group);
    return { dtype, group, shape, words };
  }

  /** Tensors `names` (each [rows, K], one K) stacked along rows as one tensor of logical `shape`. */
  async fused(names: readonly string[], shape: number[]): Promise<PackedTensor> {
    const parts: PackedTensor[] = [];
    for (const name of names) parts.push(await this.packed(name));
    const [first] = parts;
    const k = first.shape[first.shape.length - 1];
    parts.forEach((part, i) => {
      const partK = part.shape[part.shape.length - 1];
      if (part.dtype !== first.dtype || part.group !== first.group || partK !== k) {
        throw badCheckpoint(names[i], `${first.dtype} (group ${first.group}) with K=${k}, like ${names[0]} it is fused with`,
          `${part.dtype} (group ${part.group}) with K=${partK}`, `Plan "${describePlan(this.plan)}" must give fused tensors one format.`);
      }
    });
    const rows = parts.reduce((n, p) => n + rowsOf(p.shape), 0);
    if (shape[shape.length - 1] !== k || rowsOf(shape) !== rows) {
      throw badCheckpoint(names.join(' ; '), `${rowsOf(shape)} rows of K=${shape[shape.length - 1]} in all`, `${rows} rows of K=${k}`);
    }
    const words = parts.length === 1
      ? first.words
      : concatPacked(parts.map((p) => ({ words: p.words, rows: rowsOf(p.shape) })), k, first.dtype, first.group);
    return { dtype: first.dtype, group: first.group, shape, words };
  }

  /**
   * What `fused(names, shape)` would give, as pieces with their byte offsets in the fused words, when every part is
   * stored in the plan's format and shape (no repacking); undefined otherwise (then use `fused`). A q8/q4 part's
   * data rows and scale rows go to their places in the fused data and scale regions, as in concatPacked.
   */
  streamed(names: readonly string[], shape: number[]): PackedStream | undefined {
    if (!this.source.streamPacked) return undefined;
    const parts: PackedStream[] = [];
    for (const name of names) {
      const own = this.shapeOf(name);
      const { dtype, group } = storageFor(name, own, this.plan);
      const stream = this.source.streamPacked(name);
      if (!stream || stream.dtype !== dtype || stream.group !== group || stream.shape.join() !== own.join()) return undefined;
      if (parts.length && (dtype !== parts[0].dtype || group !== parts[0].group)) return undefined; // fused() says why
      parts.push(stream);
    }
    const k = shape[shape.length - 1];
    const rows = parts.reduce((n, p) => n + rowsOf(p.shape), 0);
    if (parts.some((p) => p.shape[p.shape.length - 1] !== k) || rowsOf(shape) !== rows) return undefined;
    const { dtype, group } = parts[0];
    const whole = packedLayout(dtype, rows, k, group);
    const read = async (sink: (bytes: Uint8Array, at: number) => void): Promise<void> => {
      let dataAt = 0;
      let scaleAt = whole.scaleOffset * 4;
      for (const part of parts) {
        const own = packedLayout(dtype, rowsOf(part.shape), k, group);
        const dataBytes = own.scaleOffset * 4;
        const [partData, partScales] = [dataAt, scaleAt];
        await part.read((bytes, at) => {
          const split = Math.max(0, Math.min(bytes.length, dataBytes - at));
          if (split > 0) sink(bytes.subarray(0, split), partData + at);
          if (split < bytes.length) sink(bytes.subarray(split), partScales + at + split - dataBytes);
        });
        dataAt += dataBytes;
        scaleAt += (own.words - own.scaleOffset) * 4;
      }
    };
    return { dtype, group, shape, bytes: whole.words * 4, read };
  }
}
