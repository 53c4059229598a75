#!/usr/bin/env bash
# Several builds of bench.ts measured in one device call, alternating, so their figures compare (the same build has
# moved by up to 10% between calls on the H100). Each build is an esbuild bundle in .gpu/ (see h100-figures.sh for
# the esbuild line; bundle an older commit from a `git worktree` of it).
# Usage, on the device with .gpu carried:
#   bash bench/ab-decode.sh ROUNDS NAME=BUNDLE[+EXTRA_ARG...] [...] -- BENCH ARGS...
# e.g. bash bench/ab-decode.sh 2 new=bench depth1=bench+--pipeline-depth=1 base=bench-base -- \
#        --synthetic v2-lite-r16 --weights q4 --context 2048 --tokens 64 --no-kernels
# (an argument after a + goes to that build's runs only).
# Prints each run's table rows prefixed by its name; the runs' full outputs go, one after another, to $OUT/ab.txt
# (default OUT bench/results/new; one file, as the device tool brings back only a few).
set -uo pipefail
cd "$(dirname "$0")/.."
source .gpu/setup.sh
OUT="${OUT:-bench/results/new}"
mkdir -p "$OUT"
rounds=$1; shift
builds=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do builds+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
for round in $(seq 1 "$rounds"); do
  for build in "${builds[@]}"; do
    name=${build%%=*}; spec=${build#*=}; bundle=${spec%%+*}
    rest=${spec#"$bundle"}; extra=()
    [ -n "$rest" ] && IFS=+ read -r -a extra <<< "${rest#+}"
    out=$(mktemp)
    node-gpu ".gpu/$bundle.mjs" "$@" "${extra[@]}" > "$out" 2>&1
    echo "# $name round $round: exit $?"
    grep -E "^[0-9]+ +(sparse|dense)" "$out" | sed "s/^/$name  /"
    { echo "== $name ($bundle ${extra[*]}) round $round"; cat "$out"; } >> "$OUT/ab.txt"
    rm -f "$out"
  done
done
