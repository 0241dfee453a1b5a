#!/usr/bin/env bash
# The whole claims study, resumable, in two processes of one torch thread each (a 2-core machine):
#   bash benchmarks/claims/run_study.sh RUNS [RESULTS]     (RUNS: a folder outside the work tree)
# Stream A: the supernet -> the fair ablation variant -> accuracy dataset and predictor (claim 3).
# Stream B: the train-alone runs -> the ablation's from-scratch controls.
# Then, alone on the machine (latencies are measured): search (claim 4), the ablation's JSON
# (claim 2) and claim 1's JSON.
# Every step skips what is finished, so the same command continues after an interruption.
# Logs: RUNS/logs/stream-{a,b}.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:?usage: run_study.sh RUNS [RESULTS]}
results=${2:-benchmarks/results/claims}
py=${PYTHON:-.venv/bin/python}
mkdir -p "$runs/logs"
common=(--runs "$runs" --results "$results" --threads 1)
claims=benchmarks/claims

stream_a() {
    $py $claims/ps_vs_scratch.py --part supernet "${common[@]}"
    $py $claims/ablation.py --variants progressive all_after_full --train-only "${common[@]}"
    $py $claims/predictor_quality.py "${common[@]}"
}

stream_b() {
    $py $claims/ps_vs_scratch.py --part scratch "${common[@]}"
    $py $claims/ablation.py --variants all_elastic sandwich --train-only "${common[@]}"
}

stream_a >>"$runs/logs/stream-a.log" 2>&1 &
a=$!
stream_b >>"$runs/logs/stream-b.log" 2>&1 &
b=$!
wait $a $b
{
    $py $claims/search_quality.py --runs "$runs" --results "$results"
    $py $claims/ablation.py "${common[@]}"
    $py $claims/ps_vs_scratch.py "${common[@]}"
} >>"$runs/logs/final.log" 2>&1
