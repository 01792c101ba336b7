#!/usr/bin/env bash
# Checks that every committed study still reports byte-identically: copies each
# results directory to a temporary directory, runs `ghm report` there, and diffs
# the output against the committed files. Also regenerates each committed
# cross-experiment table (results/NAME.md + NAME.tex, from the directories named
# in its "Sources:" line) with `ghm report --combine`.
#
#   scripts/check_reports.sh [options] [results/DIR ...]    default: every results/*/ and results/*.md
#     --ghm PATH     the binary to use (default: build/ghm, built with ./ghm --version when missing)
#     --keep DIR     write the regenerated copies to DIR (kept) instead of a temporary directory
#     --images       also compare PNG figures (PDF and SVG embed their creation time and are never compared)
#
# Not compared: PDF/SVG figures (and PNG unless --images), lock files, and lines that
# only carry provenance (matching $CHECK_REPORTS_IGNORE, an extended regular
# expression; hunks whose changed lines all match it are ignored).
# A directory with IN_PROGRESS.md (a study that spans sessions, committed without
# its report) is only checked to report without error and to leave its committed
# files unchanged. In a finished directory, a file the report writes that is not
# committed is a difference too; a committed file outside runs/ and ensembles/ that
# the report no longer writes (a figure of an older version) is listed as a warning
# (experiment.yaml, identity.json and the hand-written IN_PROGRESS.md and
# SUPERSEDED.md excepted).
#
# Exit status: 0 when everything is identical, 1 when something differs (the
# differing files are listed, then their diffs), 2 when a report fails or on usage errors.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ghm="build/ghm"
keep=""
images=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --ghm) [ $# -ge 2 ] || { echo "check_reports: --ghm needs a path" >&2; exit 2; }; ghm="$2"; shift 2 ;;
    --keep) [ $# -ge 2 ] || { echo "check_reports: --keep needs a directory" >&2; exit 2; }; keep="$2"; shift 2 ;;
    --images) images=1; shift ;;
    -h | --help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "check_reports: unknown option '$1'" >&2; exit 2 ;;
    *) targets+=("${1%/}"); shift ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    for d in results/*/; do targets+=("${d%/}"); done
    for f in results/*.md; do [ -f "${f%.md}.tex" ] && targets+=("$f"); done
fi
ignore_re="${CHECK_REPORTS_IGNORE:-^(.*[\"_ ])?(provenance|git_commit|ghm_version|hostname|build_host|generated_at)[\"_: =]}"

if [ ! -x "$ghm" ]; then
    [ "$ghm" = "build/ghm" ] || { echo "check_reports: $ghm is not an executable" >&2; exit 2; }
    ./ghm --version >/dev/null || exit 2
fi
ghm="$(cd "$(dirname "$ghm")" && pwd)/$(basename "$ghm")"

if [ -n "$keep" ]; then
    mkdir -p "$keep" || exit 2
    work="$(cd "$keep" && pwd)"
else
    work="$(mktemp -d "${TMPDIR:-/tmp}/check_reports.XXXXXX")" || exit 2
    trap 'rm -rf "$work"' EXIT
fi

excludes=(-x '*.pdf' -x '*.svg' -x '.lock' -x '.locks')
[ "$images" -eq 1 ] || excludes+=(-x '*.png')
failed=0       # a report that did not run
differs=()     # "what: why" lines
warnings=()    # committed files the report no longer writes
diffs="$work/.diffs"
: >"$diffs"

note_diff() { differs+=("$1"); }

# committed files the report did not rewrite: still at the old time stamp given to every copy
stale_files() {
    (cd "$1" && find . \( -path ./runs -o -path ./ensembles \) -prune -o -type f ! -newer "$2" ! -name experiment.yaml ! -name identity.json \
        ! -name IN_PROGRESS.md ! -name SUPERSEDED.md ! -name '*.pdf' ! -name '*.svg' ! -name '.lock' -print | sed 's|^\./||' | sort)
}

check_dir() {
    local src="$1" name t log marker
    name="$(basename "$src")"
    t="$work/$name"
    rm -rf "$t"
    mkdir -p "$t" && cp -r "$src/." "$t/" || { echo "check_reports: cannot copy $src" >&2; failed=1; return; }
    rm -f "$t/.lock"
    find "$t" -exec touch -h -d '2000-01-01 00:00:00' {} +
    marker="$work/.marker-$name"
    touch -d '2000-01-01 00:00:01' "$marker"
    log="$work/$name.log"
    if ! "$ghm" report "$t" >"$log" 2>&1; then
        echo "check_reports: ghm report $src failed:" >&2
        sed 's/^/  /' "$log" >&2
        failed=1
        return
    fi
    local out
    out="$(diff -r "${excludes[@]}" -I "$ignore_re" "$src" "$t" 2>&1)"
    if [ -f "$src/IN_PROGRESS.md" ]; then
        # only the committed files count; the report's new files are not committed yet
        out="$(printf '%s\n' "$out" | awk -v t="Only in $t" 'index($0, t) != 1' | sed '/^$/d')"
    else
        local s
        while IFS= read -r s; do
            [ -n "$s" ] && warnings+=("$src/$s: committed, but ghm report no longer writes it")
        done < <(stale_files "$t" "$marker")
    fi
    if [ -n "$out" ]; then
        local line
        while IFS= read -r line; do
            case "$line" in
            "Only in $src"*) note_diff "$line (committed only)" ;;
            "Only in $t"*) note_diff "${line/#Only in $t/Only in the report of $src} (written by ghm report, not committed)" ;;
            "diff -r "*) note_diff "$(echo "$line" | awk '{print $(NF-1)}'): differs" ;;
            "Binary files "*) note_diff "$(echo "$line" | awk '{print $3}'): differs (binary)" ;;
            esac
        done <<<"$out"
        { echo "=== $src"; echo "$out"; } >>"$diffs"
    fi
}

check_combined() {
    local md="$1" base tex srcs name
    base="${md%.md}"
    tex="$base.tex"
    name="$(basename "$base")"
    # the directories the table was made from, in order, from its "Sources:" sentence
    srcs=($(grep -m1 -o 'Sources: .*' "$md" | sed 's/\. Selected:.*//' | grep -o 'results/[A-Za-z0-9_.-]*' |
            sed 's/[.]$//'))
    if [ ${#srcs[@]} -eq 0 ]; then
        echo "check_reports: $md names no results directories in a 'Sources:' sentence" >&2
        failed=1
        return
    fi
    local log="$work/$name.combine.log"
    if ! "$ghm" report --combine "${srcs[@]}" --out "$work/$name" >"$log" 2>&1; then
        echo "check_reports: ghm report --combine ${srcs[*]} failed:" >&2
        sed 's/^/  /' "$log" >&2
        failed=1
        return
    fi
    local f
    for f in "$md" "$tex"; do
        local out
        out="$(diff -I "$ignore_re" "$f" "$work/$name.${f##*.}")"
        if [ -n "$out" ]; then
            note_diff "$f: differs (ghm report --combine ${srcs[*]} --out $base)"
            { echo "=== $f"; echo "$out"; } >>"$diffs"
        fi
    done
}

n=0
for x in "${targets[@]}"; do
    if [ -d "$x" ]; then
        check_dir "$x"
    elif [ -f "$x" ] && [ "${x##*.}" = md ]; then
        check_combined "$x"
    else
        echo "check_reports: $x is neither a results directory nor a combined table (NAME.md)" >&2
        failed=1
        continue
    fi
    n=$((n + 1))
done

if [ ${#warnings[@]} -gt 0 ]; then
    echo "check_reports: warning: ${#warnings[@]} committed file(s) no report writes any more:"
    printf '  %s\n' "${warnings[@]}"
fi
if [ ${#differs[@]} -gt 0 ]; then
    echo "check_reports: ${#differs[@]} difference(s) in $n report(s):"
    printf '  %s\n' "${differs[@]}"
    echo
    cat "$diffs"
fi
[ "$failed" -eq 0 ] || exit 2
[ ${#differs[@]} -eq 0 ] || exit 1
echo "check_reports: all $n report(s) identical to the committed files"
[ -z "$keep" ] || echo "check_reports: regenerated copies in $work"
exit 0
