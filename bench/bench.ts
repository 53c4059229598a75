// `npm run bench`: decode and prefill speed on real model dimensions, on whatever WebGPU adapter Node finds (Dawn:
// SwiftShader on a CPU machine, Vulkan on a GPU). Usage:
//   npm run bench -- [--model DIR | --synthetic v2-lite-r16|v32-lite-r16|tiny] [--weights q4|q8|f16]
//     [--context 512,2048,8192,32768 | none] [--attention sparse,dense] [--tokens N] [--max-rows N]
//     [--kv-restore N] [--no-kernels] [--profile] [--no-subgroups] [--pipeline-depth 1|2] [--json] [--out FILE]
// --tokens: decode tokens per run (default 32 on GPUs, 4 on CPU adapters); --kv-restore N adds issue 6's
// "restore N tokens vs prefill" line (default 4000 with --model); --profile adds
// each kernel's share of a decode step per run and of one prefill chunk (call-profile.ts); --no-subgroups keeps the
// reductions on workgroup memory where the adapter has subgroups; --pipeline-depth sets the decode steps in flight
// (generate()'s pipelineDepth, default 2); --out also writes the JSON report to FILE.
// Progress goes to stderr; stdout is the table, or one JSON object with --json. The device gets 'timestamp-query'
// where the adapter has it (GPU times beside the wall clock: gpu-timing.ts).
import { writeFile } from 'node:fs/promises';
import { createBenchDevice } from './gpu-timing';
import { formatReport } from './report';
import { parseBenchArgs } from './bench-args';
import { runBench } from './run-bench';

async function main(): Promise<void> {
  const gpu = await createBenchDevice({ subgroups: !process.argv.includes('--no-subgroups') });
  const options = parseBenchArgs(process.argv.slice(2), gpu.cpu);
  const started = performance.now();
  const progress = (message: string) => console.error(`bench: ${((performance.now() - started) / 1000).toFixed(1)} s: ${message}`);
  const report = await runBench(gpu, options, progress);
  if (options.out) await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(options.json ? JSON.stringify(report) : formatReport(report));
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
