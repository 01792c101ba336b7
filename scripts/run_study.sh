#!/usr/bin/env bash
# Runs the pre-registered study (docs/study_protocol.md) on one machine: each file
# as two shards, one per core, niced so that other work keeps the machine, then
# its report. Resumes where it stopped (finished records are kept), so it can be
# started again after an interruption or in a later session.
#
#   scripts/run_study.sh [FILE.yaml ...]     default: the three study files, in order
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(experiments/study_fashion_mnist_classes.yaml experiments/study_glyphs.yaml
                                 experiments/study_glyphs_xl.yaml)
./ghm --version >/dev/null   # installs, builds, once, before the shards start
for f in "${files[@]}"; do
    name="$(sed -n 's/^name: *//p' "$f")"
    mkdir -p "build/logs"
    nice -n 10 build/ghm run "$f" --threads 1 --shard 1/2 >"build/logs/study-$name-1.log" 2>&1 &
    p1=$!
    nice -n 10 build/ghm run "$f" --threads 1 --shard 2/2 >"build/logs/study-$name-2.log" 2>&1 &
    p2=$!
    rc=0
    wait "$p1" || rc=$?
    wait "$p2" || rc=$?
    [ "$rc" -eq 0 ] || { echo "study: $f: a shard failed (exit $rc); logs in build/logs/study-$name-*.log" >&2; exit "$rc"; }
    nice -n 10 build/ghm report "results/$name"
done
