// Issue 6's "restore beats prefill" measurement as a function, shared by bench/kv-restore.ts (its own CLI) and
// `npm run bench -- --model DIR --kv-restore N`: on a loaded model, times the generation loop's prefill of `tokens`
// ids up to the first sampled token, then the restore of a snapshot of the same rows — decode (f16 or int8) and
// upload, until the queue has finished, median of three — for each storage encoding. The snapshot read (one
// submit, one map, encode) is reported too; it happens after an answer, not on the path to the next one.
import { generate } from '../engine/generate/generator';
import { GREEDY } from '../engine/kernels/sample';
import { readLatentRows, writeLatentRows, type LatentSnapshot } from '../engine/kv/latent-rows';
import { encodedBytes, KV_ENCODINGS } from '../engine/kv/row-encoding';
import type { DeepseekForward } from '../engine/model/forward';

export interface RestoreFigure {
  readMs: number;
  restoreMs: number;
  decodeAndUploadMs: number;
  storedBytes: number;
}

export interface KvRestoreResult {
  tokens: number; // cached tokens restored (= prefilled)
  prefillMs: number;
  prefillTokens: number;
  restore: Record<string, RestoreFigure>;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Measures prefill of `tokens` deterministic ids against restoring their cache rows; leaves the model reset. */
export async function measureKvRestore(model: DeepseekForward, tokens: number, progress: (message: string) => void = () => {}): Promise<KvRestoreResult> {
  const { device } = model.ctx;
  const count = Math.min(tokens, model.scratch.maxContext - 1);
  const ids = Array.from({ length: count }, (_, i) => (i * 7919 + 13) % model.config.vocabSize);
  model.reset();
  await generate(model, ids.slice(0, 70), GREEDY, { maxNewTokens: 2 }); // warm-up: pipelines compiled, buffers touched
  model.reset();
  progress(`warmed up; prefilling ${count} tokens`);
  const prefillStart = performance.now();
  const prefilled = await generate(model, ids, GREEDY, { maxNewTokens: 1 });
  const prefillMs = performance.now() - prefillStart;
  const position = model.position;
  progress(`prefilled in ${prefillMs.toFixed(0)} ms`);

  const restore: Record<string, RestoreFigure> = {};
  for (const encoding of KV_ENCODINGS) {
    const readStart = performance.now();
    const snapshot: LatentSnapshot = await readLatentRows(model, 0, position, encoding);
    const readMs = performance.now() - readStart;
    const restores: number[] = [];
    const writes: number[] = [];
    for (let run = 0; run < 3; run++) {
      model.reset();
      const start = performance.now();
      writeLatentRows(model, snapshot);
      writes.push(performance.now() - start);
      await device.queue.onSubmittedWorkDone();
      restores.push(performance.now() - start);
    }
    if (model.position !== position) throw new Error(`restore left position ${model.position}, expected ${position}`);
    restore[encoding] = { readMs, restoreMs: median(restores), decodeAndUploadMs: median(writes), storedBytes: encodedBytes(snapshot) };
  }
  model.reset();
  return { tokens: position, prefillMs, prefillTokens: prefilled.stats.promptTokens, restore };
}

/** Issue 6's line per encoding: "restore N tokens (f16) X ms vs prefill Y ms", with the stored bytes and the ratio. */
export function kvRestoreLines(result: KvRestoreResult): string[] {
  return Object.entries(result.restore).map(([encoding, r]) =>
    `restore ${result.tokens} tokens (${encoding}) ${r.restoreMs.toFixed(1)} ms vs prefill ${result.prefillMs.toFixed(0)} ms ` +
    `(${(result.prefillMs / r.restoreMs).toFixed(0)}x faster; ${r.storedBytes.toLocaleString('en-US')} B stored, ` +
    `decode + upload calls ${r.decodeAndUploadMs.toFixed(1)} ms, snapshot read ${r.readMs.toFixed(1)} ms)`);
}
