// What `npm run verify` needs when --checkpoint names a model package (a folder with manifest.json) rather than a
// Hugging Face checkpoint: the package opened with every shard's SHA-256 checked, the weight plan it was made
// with, whether it dropped experts, and the package fields the report gains. Packages carry no golden logits, so
// --golden is required.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../convert/usage-error';
import { MANIFEST_FILE } from '../package/manifest';
import { openPackage } from '../package/package-node';
import type { TensorSource } from '../weights/tensor-source';
import type { WeightPlan } from '../weights/weight-plan';

export interface VerifiedPackage {
  source: TensorSource;
  plan: WeightPlan;
  checkpointName: string; // the package's name (by default its source folder's): picks a known fixture's bar
  expertsDropped: boolean; // the package keeps fewer routed experts than its source checkpoint
  report: { name: string; quantisation: string; experts: Record<string, unknown> | null };
}

export async function isPackageDir(dir: string): Promise<boolean> {
  return stat(join(dir, MANIFEST_FILE)).then((s) => s.isFile(), () => false);
}

/** Opens the package in `dir` for verification; `weights` is the --weights option if given. */
export async function openPackageForVerify(dir: string, golden: string | undefined, weights: string | undefined): Promise<VerifiedPackage> {
  if (!golden) throw new UsageError(`${dir} is a model package, which carries no golden logits; pass --golden FILE (e.g. the source checkpoint's golden.safetensors)`);
  const { manifest, source } = await openPackage(dir, { verify: true });
  const plan = manifest.quantisation.plan;
  if (weights !== undefined && weights !== plan.dtype) {
    throw new UsageError(`--weights ${weights} differs from the package's ${manifest.quantisation.description}; omit --weights for a package`);
  }
  const experts = manifest.experts;
  const original = experts && typeof experts.originalExperts === 'number' ? experts.originalExperts : manifest.config.nRoutedExperts;
  return {
    source,
    plan,
    checkpointName: manifest.name,
    expertsDropped: manifest.config.nRoutedExperts < original,
    report: { name: manifest.name, quantisation: manifest.quantisation.description, experts },
  };
}
