// What `npm run verify` needs when --checkpoint names a model package (a folder with manifest.json) rather than a
// Hugging Face checkpoint: the package opened with every shard's SHA-256 checked, the weight dtype its plan fixes,
// and the package fields the report gains. Packages carry no golden logits, so --golden is required.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../convert/usage-error';
import { MANIFEST_FILE } from '../package/manifest';
import { openPackage } from '../package/package-node';
import type { WeightDtype } from '../weights/gpu-weight';
import type { TensorSource } from '../weights/tensor-source';

export interface VerifiedPackage {
  source: TensorSource;
  weights: WeightDtype;
  report: { name: string; quantisation: string; experts: Record<string, unknown> | null };
}

export async function isPackageDir(dir: string): Promise<boolean> {
  return stat(join(dir, MANIFEST_FILE)).then((s) => s.isFile(), () => false);
}

/** Opens the package in `dir` for verification; `weights` is the --weights option if given. */
export async function openPackageForVerify(dir: string, golden: string | undefined, weights: string | undefined): Promise<VerifiedPackage> {
  if (!golden) throw new UsageError(`${dir} is a model package, which carries no golden logits; pass --golden FILE (e.g. the source checkpoint's golden.safetensors)`);
  const { manifest, source } = await openPackage(dir, { verify: true });
  const planned = manifest.quantisation.plan.dtype;
  if (weights !== undefined && weights !== planned) {
    throw new UsageError(`--weights ${weights} differs from the package's ${manifest.quantisation.description}; omit --weights for a package`);
  }
  if (planned !== 'f32' && planned !== 'f16') {
    throw new UsageError(`${dir} holds ${planned} weights; this build verifies f32 and f16 packages only`);
  }
  const report = { name: manifest.name, quantisation: manifest.quantisation.description, experts: manifest.experts };
  return { source, weights: planned, report };
}
