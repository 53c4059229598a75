// Greedy generation with the sampled id kept on the GPU: each decode step copies the previous step's argmax
// (scratch.nextToken) into the embedding's input, so the CPU encodes and submits step n+1 without waiting for
// step n. Ids come back asynchronously one step behind, through a small ring of staging buffers, for the caller
// and the stop check; the one extra step run after a stop id is discarded by rolling the position back (its cache
// row is simply overwritten later). Nothing else is read back while generating.
import type { AttentionMode, DeepseekForward } from './forward';

export interface GreedyOptions {
  maxNewTokens: number;
  attention?: AttentionMode;
  stopIds?: number[];
  onToken?: (id: number) => void;
}

const RING = 3;

export async function generateGreedy(model: DeepseekForward, prompt: number[], options: GreedyOptions): Promise<number[]> {
  const { device } = model.ctx;
  const { scratch } = model;
  const stop = new Set(options.stopIds ?? []);
  const ring = Array.from({ length: RING }, (_, i) => device.createBuffer({
    label: `next_token_readback.${i}`, size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  }));
  const generated: number[] = [];
  try {
    // Prompt: chunks of maxRows; only the last chunk's argmax matters, so only its last row gets logits.
    for (let start = 0; start < prompt.length; start += scratch.maxRows) {
      const chunk = prompt.slice(start, start + scratch.maxRows);
      const last = start + chunk.length >= prompt.length;
      device.queue.writeBuffer(scratch.tokenIds, 0, Uint32Array.from(chunk));
      const encoder = device.createCommandEncoder({ label: 'prefill' });
      model.encodeForward(encoder, chunk.length, options.attention, undefined, last ? 'last' : 'none');
      if (last) encoder.copyBufferToBuffer(scratch.nextToken, 0, ring[0], 0, 4);
      device.queue.submit([encoder.finish()]);
    }
    // Token i (generated[i]) is read from ring[i % RING]; step i feeds it and writes token i+1 to ring[(i+1) % RING].
    for (let i = 0; i < options.maxNewTokens; i++) {
      const willFeed = i + 1 < options.maxNewTokens && model.position < scratch.maxContext;
      if (willFeed) {
        const encoder = device.createCommandEncoder({ label: 'decode' });
        encoder.copyBufferToBuffer(scratch.nextToken, 0, scratch.tokenIds, 0, 4);
        model.encodeForward(encoder, 1, options.attention, undefined, 'last');
        encoder.copyBufferToBuffer(scratch.nextToken, 0, ring[(i + 1) % RING], 0, 4);
        device.queue.submit([encoder.finish()]);
      }
      const slot = ring[i % RING];
      await slot.mapAsync(GPUMapMode.READ);
      const id = new Uint32Array(slot.getMappedRange())[0];
      slot.unmap();
      generated.push(id);
      options.onToken?.(id);
      if (stop.has(id)) {
        if (willFeed) model.position -= 1; // the step that fed the stop id is discarded
        break;
      }
      if (!willFeed) break;
    }
  } finally {
    for (const buffer of ring) buffer.destroy();
  }
  return generated;
}
