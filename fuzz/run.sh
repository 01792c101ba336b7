#!/usr/bin/env bash
# A short, bounded libFuzzer pass over every reader of outside data:
#   fuzz/run.sh [SECONDS_PER_TARGET (default 20)] [TARGET ...]
# Builds build-fuzz/ with clang (ASan + UBSan + libFuzzer), then fuzzes each
# target (npy, idx, yaml, record) from fuzz/corpus/<target>/ for the given
# time. New corpus entries go to build-fuzz/corpus/ (the repository's corpus
# is only read); a crash leaves its input in build-fuzz/crashes/ and the exit
# status is 1: copy the input to fuzz/regressions/<target>/ so that the test
# suite replays it for good (tests/test_run_fuzz_corpus.cc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(npy idx yaml record)
CC=${GHM_FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "fuzz: $CC not found; skipping the fuzzing pass (apt-get install clang libclang-rt-14-dev)"
  exit 0
fi
# libFuzzer's runtime (libclang-rt-NN-dev on Debian)
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
    "$CC" -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then
  echo "fuzz: $CC cannot link libFuzzer (install libclang-rt-14-dev); skipping the fuzzing pass"
  exit 0
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGHM_FUZZ=ON \
  -DGHM_TESTS=OFF -DGHM_MPI=OFF -DGHM_NATIVE=OFF >/dev/null
targets_make=()
for t in "${targets[@]}"; do targets_make+=("fuzz_$t"); done
cmake --build build-fuzz -j "$jobs" --target "${targets_make[@]}" >/dev/null
mkdir -p build-fuzz/crashes
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  log="build-fuzz/fuzz_$t.log"
  # -rss_limit_mb / -malloc_limit_mb: a reader that sizes memory from the
  # input without checking it fails here; -timeout: one input must not hang
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "build-fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -max_len=65536 -artifact_prefix="build-fuzz/crashes/$t-" "build-fuzz/corpus/$t" "fuzz/corpus/$t" \
      >"$log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 || true)
    echo "fuzz: $t: ${runs:-done} in ${secs}s, no crash"
  else
    echo "fuzz: $t: FAILED (input saved under build-fuzz/crashes/; log $log):"
    grep -E "ERROR|SUMMARY|runtime error" "$log" | head -5 || tail -20 "$log"
    status=1
  fi
done
exit $status
