#!/usr/bin/env bash
# The figure set of docs/performance.md in one device call (about 5-7 minutes on an H100): v2-lite-r16 and
# v32-lite-r16 q4 with --profile (GPU-timestamp columns where the adapter has them), the matrix-vector layout sweep
# at the model's shapes, the DSA top-k layouts probe, the trained model's restore line, and transformers eager bf16 on the same dimensions.
# Raw outputs go to $OUT (default bench/results/new).
# Prepare here first (see docs/performance.md "Reproducing on the lent H100"):
#   ../shared/tools/gpu-prep.sh
#   for e in bench matvec-bandwidth topk-layouts; do npx esbuild bench/$e.ts --bundle --platform=node --format=esm \
#     --external:webgpu --loader:.wgsl=text --outfile=.gpu/$e.mjs; done
# then on the device, carrying .gpu:  bash bench/h100-figures.sh
# The device tool copies at most 64 MiB of working tree: with .gpu (45 MiB) the trained model's 34 MB shard does not
# fit, so move it aside for the call and the restore line is skipped (it says so).
set -uo pipefail
cd "$(dirname "$0")/.."
source .gpu/setup.sh
OUT="${OUT:-bench/results/new}"
mkdir -p "$OUT"
# One bench run: its table and progress to $OUT/NAME.txt, its JSON report to $OUT/NAME.json; prints its table rows.
bench() {
  local name=$1; shift
  node-gpu .gpu/bench.mjs "$@" --out "$OUT/$name.json" > "$OUT/$name.txt" 2>&1
  echo "$name: exit $?"
  grep -E "^(512|2048|8192|32768) " "$OUT/$name.txt"
}
bench v2-lite-r16-q4 --synthetic v2-lite-r16 --weights q4 --context 512,2048,8192,32768 --tokens 32 --profile
bench v32-lite-r16-q4 --synthetic v32-lite-r16 --weights q4 --context 2048,8192,32768 --tokens 32 --no-kernels --profile
node-gpu .gpu/topk-layouts.mjs --layouts 1024x32,512x16 --keys 2049,8193,16385,32769 > "$OUT/topk-layouts.txt" 2>&1; echo "topk: exit $?"
tail -3 "$OUT/topk-layouts.txt"
node-gpu .gpu/matvec-bandwidth.mjs --dtypes q4,q8 > "$OUT/matvec.txt" 2>&1; echo "matvec: exit $?"
grep -A24 "best layout" "$OUT/matvec.txt"
if [ -f public/models/deepseek-v32-dictionary-chat/shard-00000.bin ]; then
  bench kv-restore-trained --model public/models/deepseek-v32-dictionary-chat --context none --kv-restore 4000
else
  echo "kv-restore-trained: skipped (the trained model's shard is not in this copy of the tree)"
fi
python3 bench/transformers_bench.py --context 2048 --tokens 32 > "$OUT/transformers.jsonl" 2> "$OUT/transformers.log"; echo "transformers: exit $?"
cat "$OUT/transformers.jsonl"
