#!/usr/bin/env bash
# Mutation score of the test suite: applies each single-line mutation of
# scripts/mutations.txt to the sources, one at a time, rebuilds, runs the whole
# suite (ctest, stopping at the first failure) and counts the mutants the suite
# kills. Run on demand (it takes a while: a rebuild and a suite run per mutant),
# not in CI:
#
#   scripts/mutate.sh [--build DIR] [--list FILE] [--only REGEX] [-j N]
#
#   --build DIR   build directory (default build-mut/, configured Release on first use)
#   --list FILE   mutation list (default scripts/mutations.txt)
#   --only REGEX  only the mutations whose line matches REGEX (e.g. 'runner/run.c')
#   --skip-baseline  do not run the unmutated suite first (when it just passed)
#   --from N      start at the N-th mutation of the list (resume an interrupted run)
#
# Each mutant first meets the suites of its own module (only those are rebuilt,
# so a killed mutant costs little); one they all pass is built whole and meets
# the whole suite before it counts as survived. The source file is restored
# after every mutant (also on Ctrl-C). A mutant that does not compile is
# reported apart and left out of the score.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-mut"
LIST="$ROOT/scripts/mutations.txt"
ONLY=""
JOBS="$(nproc)"
BASELINE=1
FROM=1
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD="$(realpath -m "$2")"; shift 2 ;;
        --list) LIST="$(realpath -m "$2")"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        -j) JOBS="$2"; shift 2 ;;
        --skip-baseline) BASELINE=0; shift ;;
        --from) FROM="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "mutate: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -f "$LIST" ] || { echo "mutate: no mutation list $LIST" >&2; exit 2; }

say() { printf 'mutate: %s\n' "$*" >&2; }

build() { cmake --build "$BUILD" -j "$JOBS" "$@" >"$BUILD/mutate-build.log" 2>&1; }

# The suites that test the module of a source file (run first).
first_suites() {
    case "$1" in
        core/*) echo test_core test_core_json ;;
        nn/*) echo test_optim test_layers test_layers_fused ;;
        eval/*) echo test_eval test_eval_retrieval ;;
        datasets/*) echo test_datasets test_datasets_split test_datasets_bounds test_run_wiring ;;
        backbones/*) echo test_backbones ;;
        losses/*) echo test_losses_a test_losses_b test_losses_spec ;;
        experiment/*|runner/*|search/*|report/*) echo test_plan_identity test_run_wiring test_report_numbers test_plan test_config test_report \
                        test_trainer_progress test_trainer ;;
        cli/*) echo test_cli ;;
    esac
}

# first FILE: build and run the module's own suites; 0 when they all pass
first() {
    local suites t
    suites="$(first_suites "$1")"
    [ -n "$suites" ] || return 0
    # shellcheck disable=SC2086
    build --target ghm $suites || return 2
    for t in $suites; do
        [ -x "$BUILD/$t" ] || continue
        (cd "$BUILD" && GHM_THREADS=1 timeout 900 "./$t" --gtest_brief=1 >"$BUILD/mutate-first.log" 2>&1 </dev/null) || {
            FIRST_KILLER="$t"
            return 1
        }
    done
    return 0
}
suite() { (cd "$BUILD" && GHM_THREADS=1 ctest -j "$JOBS" --stop-on-failure --timeout 900 >"$BUILD/mutate-ctest.log" 2>&1 </dev/null); }

# apply FILE ORIGINAL REPLACEMENT: replace the one occurrence (exit 3 when not exactly one)
apply() {
    perl -e '
        my ($f, $o, $n) = @ARGV;
        open(my $in, "<", $f) or exit 4;
        local $/; my $s = <$in>; close $in;
        my $c = () = $s =~ /\Q$o\E/g;
        exit 3 if $c != 1;
        $s =~ s/\Q$o\E/$n/;
        open(my $out, ">", $f) or exit 4;
        print $out $s; close $out;' "$1" "$2" "$3"
}

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    say "configuring $BUILD (Release)"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 1
fi
say "building the unmutated tree"
build || { say "the unmutated tree does not build (log: $BUILD/mutate-build.log)"; exit 1; }
if [ "$BASELINE" = 1 ]; then
    say "running the unmutated suite"
    suite || { say "the unmutated suite fails (log: $BUILD/mutate-ctest.log): fix that first"; exit 1; }
fi

BACKUP="$BUILD/mutate.orig"
CURRENT=""
restore() {
    if [ -n "$CURRENT" ]; then
        cp "$BACKUP" "$ROOT/$CURRENT" # a new mtime: the next build recompiles it
        CURRENT=""
    fi
}
trap 'restore; exit 130' INT TERM
trap restore EXIT

total=0; killed=0; broken=0
survivors=()
n=0
while IFS= read -r line <&3; do
    case "$line" in ''|'#'*) continue ;; esac
    if [ -n "$ONLY" ] && ! printf '%s\n' "$line" | grep -Eq -- "$ONLY"; then continue; fi
    file="$(printf '%s' "$line" | perl -ne 'print((split / \| /, $_, 3)[0])')"
    orig="$(printf '%s' "$line" | perl -ne 'print((split / \| /, $_, 3)[1])')"
    repl="$(printf '%s' "$line" | perl -ne 'chomp; print((split / \| /, $_, 3)[2])')"
    n=$((n + 1))
    [ "$n" -lt "$FROM" ] && continue
    if [ ! -f "$ROOT/$file" ]; then say "#$n: no file $file"; broken=$((broken + 1)); continue; fi
    cp "$ROOT/$file" "$BACKUP"
    CURRENT="$file"
    apply "$ROOT/$file" "$orig" "$repl"
    rc=$?
    if [ $rc -ne 0 ]; then
        say "#$n $file: the original text does not occur exactly once (list out of date?): $orig"
        restore
        broken=$((broken + 1))
        continue
    fi
    start=$(date +%s)
    FIRST_KILLER=""
    first "$file"
    rc=$?
    if [ $rc -eq 1 ]; then
        total=$((total + 1))
        killed=$((killed + 1))
        printf '#%-3d %-22s killed     by %s  (%ds)\n' "$n" "$file" "$FIRST_KILLER" $(($(date +%s) - start))
        restore
        continue
    fi
    if [ $rc -eq 2 ] || ! build; then
        printf '#%-3d %-22s NOT BUILT  %s\n' "$n" "$file" "$repl"
        restore
        broken=$((broken + 1))
        continue
    fi
    total=$((total + 1))
    if suite; then
        printf '#%-3d %-22s SURVIVED   %s  (%ds)\n' "$n" "$file" "$repl" $(($(date +%s) - start))
        survivors+=("#$n $file: $orig  ->  $repl")
    else
        by="$(head -n 3 "$BUILD/Testing/Temporary/LastTestsFailed.log" 2>/dev/null | sed 's/^[0-9]*://' | paste -sd' ' -)"
        printf '#%-3d %-22s killed     by %s  (%ds)\n' "$n" "$file" "${by:-?}" $(($(date +%s) - start))
        killed=$((killed + 1))
    fi
    restore
done 3<"$LIST"

say "restoring the build"
build || say "rebuild after the last mutant failed (log: $BUILD/mutate-build.log)"
echo
if [ "$total" -gt 0 ]; then
    printf 'mutation score: %d of %d mutants killed (%.1f%%)' "$killed" "$total" "$(awk -v k="$killed" -v t="$total" 'BEGIN { print 100 * k / t }')"
else
    printf 'mutation score: no mutant was run'
fi
[ "$broken" -gt 0 ] && printf '; %d not applied or not built (left out)' "$broken"
echo
for s in "${survivors[@]}"; do echo "  survived: $s"; done
