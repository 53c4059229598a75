// Reading rows [from, to) of a model's latent caches (every layer's scratch.latentCache, plus the V3.2 indexer key
// cache) back to the CPU in one submit and one map, encoded for storage (engine/kv/row-encoding.ts), and writing
// such rows back into the caches at a position so `model.position` continues from there. The f32 row image is
// laid out per layer: latent rows [tokens, rKV + dR], then indexer key rows [tokens, dI].
import { EngineError } from '../errors';
import type { DeepseekForward } from '../model/forward';
import { decodeRows, encodeRows, rowLayout, valuesPerToken, type EncodedRows, type KvEncoding, type LatentRowLayout } from './row-encoding';

/** Encoded cache rows of one model and the position of their first row. */
export interface LatentSnapshot extends EncodedRows {
  from: number;
}

/** Per layer, the cache buffers and their row widths, in image order. */
function cacheParts(model: DeepseekForward): { buffer: GPUBuffer; width: number }[] {
  const layout = rowLayout(model.config);
  const { latentCache, indexer } = model.scratch;
  return latentCache.flatMap((buffer, l) => [
    { buffer, width: layout.latentWidth },
    ...(indexer ? [{ buffer: indexer.keyCache[l], width: layout.indexerWidth }] : []),
  ]);
}

function checkRange(model: DeepseekForward, from: number, to: number): void {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to > model.position) {
    throw new RangeError(`cache rows [${from}, ${to}) are not inside the model's ${model.position} cached tokens`);
  }
}

/** Rows [from, to) of every cache as one f32 image (one submit, one map). */
export async function readLatentImage(model: DeepseekForward, from: number, to: number): Promise<Float32Array> {
  checkRange(model, from, to);
  const tokens = to - from;
  const layout = rowLayout(model.config);
  const bytes = tokens * valuesPerToken(layout) * 4;
  if (bytes === 0) return new Float32Array(0);
  const { device } = model.ctx;
  if (bytes > device.limits.maxBufferSize) {
    throw new EngineError('ADAPTER_LIMITS',
      `Reading ${tokens} cache rows needs a ${bytes}-byte staging buffer but this adapter allows ${device.limits.maxBufferSize}. Read the rows in smaller ranges.`,
      { bytes, maxBufferSize: device.limits.maxBufferSize });
  }
  const staging = device.createBuffer({ label: 'latent_rows_staging', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder({ label: 'latent_rows_read' });
  let offset = 0;
  for (const { buffer, width } of cacheParts(model)) {
    encoder.copyBufferToBuffer(buffer, from * width * 4, staging, offset, tokens * width * 4);
    offset += tokens * width * 4;
  }
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const image = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return image;
}

/** Rows [from, to) of the model's caches, encoded for storage. */
export async function readLatentRows(model: DeepseekForward, from: number, to: number, encoding: KvEncoding): Promise<LatentSnapshot> {
  const image = await readLatentImage(model, from, to);
  return { ...encodeRows(image, rowLayout(model.config), to - from, encoding), from };
}

/**
 * Writes an f32 image of `tokens` rows into every cache at rows [at, at + tokens) and sets model.position to
 * at + tokens. `at` may not lie beyond the cached tokens (no gaps); rows past it are dropped (rolled back).
 */
export function writeLatentImage(model: DeepseekForward, image: Float32Array, tokens: number, at: number): void {
  const layout = rowLayout(model.config);
  if (!Number.isInteger(at) || at < 0 || at > model.position) {
    throw new RangeError(`cache rows can be written at positions 0..${model.position} (the cached tokens), got ${at}`);
  }
  if (image.length !== tokens * valuesPerToken(layout)) {
    throw new EngineError('INTEGRITY',
      `A cache snapshot of ${tokens} tokens for this model holds ${tokens * valuesPerToken(layout)} values, found ${image.length}. It was saved for another model; prefill the conversation instead.`,
      { tokens, values: image.length });
  }
  const needed = at + tokens;
  if (needed > model.scratch.maxContext) {
    throw new EngineError('CONTEXT_FULL',
      `The restored conversation needs ${needed} tokens but this model instance holds ${model.scratch.maxContext}. Start a new conversation.`,
      { needed, maxContext: model.scratch.maxContext });
  }
  const { queue } = model.ctx.device;
  let offset = 0;
  for (const { buffer, width } of cacheParts(model)) {
    const bytes = tokens * width * 4;
    if (bytes > 0) queue.writeBuffer(buffer, at * width * 4, image.buffer, image.byteOffset + offset, bytes);
    offset += bytes;
  }
  model.position = needed;
}

/** Decodes a snapshot and writes it at `at` (default: where it was read from); the model continues after it. */
export function writeLatentRows(model: DeepseekForward, snapshot: LatentSnapshot, at = snapshot.from): void {
  const layout: LatentRowLayout = rowLayout(model.config);
  checkSnapshot(snapshot, layout);
  writeLatentImage(model, decodeRows(snapshot, layout), snapshot.tokens, at);
}

function checkSnapshot(snapshot: LatentSnapshot, layout: LatentRowLayout): void {
  const expected = snapshot.tokens * valuesPerToken(layout);
  const scalesOk = snapshot.encoding === 'f16' ? snapshot.scales === null : snapshot.scales !== null;
  if (snapshot.values.length !== expected || !scalesOk) {
    throw new EngineError('INTEGRITY',
      `A ${snapshot.encoding} cache snapshot of ${snapshot.tokens} tokens for this model holds ${expected} values${snapshot.encoding === 'int8' ? ' and scales' : ''}, found ${snapshot.values.length}. It is damaged or for another model; prefill the conversation instead.`,
      { tokens: snapshot.tokens, values: snapshot.values.length });
  }
}
