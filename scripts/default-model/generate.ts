// `node scripts/run-ts.mjs scripts/default-model/generate.ts [--out public/models] [--force]`: generates the bundled
// default model (see default-model-config.ts) if it is missing or from an older generator; run by `npm start` and
// `npm run build` (prestart/prebuild), offline. Exit status 0 done, 1 failure.
import { parseArgs } from 'node:util';
import { generateDefaultModel } from './generate-default-model';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'public/models' }, force: { type: 'boolean', default: false } } });
const started = performance.now();
try {
  const result = await generateDefaultModel(values.out!, { force: values.force, log: (line) => console.error(`default-model: ${line}`) });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(`default-model: ${result.generated ? `generated in ${seconds} s` : 'up to date'}: ${result.packageDir} (${result.manifest.quantisation.description})`);
} catch (error) {
  console.error(`default-model: failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
}
