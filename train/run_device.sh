#!/bin/bash
# One device call: train (seconds as $1, "smoke" as $2 for a short check), evaluate, and pack the checkpoint and
# references into $OUT as parts of at most 15 MiB. Run from the repository root that holds .train/.
set -o pipefail
SECONDS_BUDGET=${1:-400}
EXTRA=""; [ "$2" = smoke ] && EXTRA="--smoke"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c 'import transformers, torch, tokenizers; print(transformers.__version__, torch.__version__, tokenizers.__version__)'
python3 -c 'import inspect, transformers.models.deepseek_v32.modeling_deepseek_v32 as m; print(inspect.getsource(m))' > $OUT/modeling_deepseek_v32.py 2>&1
W=/tmp/run; mkdir -p $W
(cd .train/train && python3 train.py --data ../data --out $W --train-seconds $SECONDS_BUDGET $EXTRA $3) 2>&1 | tee $OUT/log.txt
rc=$?
cp $W/eval.json $OUT/ 2>/dev/null
if [ -d $W/checkpoint ]; then (cd $W && tar cf - checkpoint *.json | split -b 15m - $OUT/ckpt.tar.part); fi
ls -la $OUT
exit $rc
