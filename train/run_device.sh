#!/bin/bash
# One training run on the GPU machine: train for $1 seconds ("smoke" as $2 for a short check; more train.py
# arguments as $3), evaluate, and pack the checkpoint and references into $RESULT (default $OUT) as parts of at
# most 15 MiB. Run from the repository root, with the data in .train/data (train/build_data.py; the tokenizer to
# reuse in .train/data/tokenizer). Runs longer than one device call go in the background and write to /tmp:
#   RESULT=/tmp/result setsid nohup bash train/run_device.sh 1080 '' '--short-until 0.4' >/tmp/bg.log 2>&1 </dev/null &
# then poll /tmp/result/done from later calls and copy /tmp/result/* to $OUT.
set -o pipefail
SECONDS_BUDGET=${1:-400}
EXTRA=""; [ "$2" = smoke ] && EXTRA="--smoke"
RESULT=${RESULT:-$OUT}; mkdir -p "$RESULT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c 'import transformers, torch, tokenizers; print(transformers.__version__, torch.__version__, tokenizers.__version__)'
W=/tmp/run; mkdir -p $W
(cd train && python3 train.py --data ../.train/data --out $W --train-seconds $SECONDS_BUDGET $EXTRA $3) 2>&1 | tee "$RESULT/log.txt"
rc=$?
cp $W/eval.json "$RESULT/" 2>/dev/null
if [ -d $W/checkpoint ]; then (cd $W && tar cf - checkpoint *.json | split -b 15m - "$RESULT/ckpt.tar.part"); fi
ls -la "$RESULT"
echo $rc > "$RESULT/done"
exit $rc
