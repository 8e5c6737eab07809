#!/bin/sh
# tests/fuzz/build.sh: build and run the libFuzzer harnesses (make fuzz).
#
#   sh tests/fuzz/build.sh            build, then run each harness FUZZ_TIME
#                                     seconds (default 20) on its seeds
#   sh tests/fuzz/build.sh build      build only (build-fuzz/fuzz_*)
#   sh tests/fuzz/build.sh run SECS [HARNESS...]
#                                     replay regress/, then fuzz each SECS
#                                     seconds; any finding fails (exit 1) and
#                                     is left in build-fuzz/findings/HARNESS/
#   sh tests/fuzz/build.sh replay     only replay tests/fuzz/regress/*/
#   sh tests/fuzz/build.sh seeds      (re)make the seed corpora
#
# Harnesses: every tests/fuzz/fuzz_*.c, built with clang
# -fsanitize=fuzzer,address,undefined against a libtlsdiag built with
# -fsanitize=fuzzer-no-link,address,undefined in build-fuzz/.
# Seeds (made at fuzz time, never committed): the lab fixtures and decode
# texts in tests/data, and ../shared/corpus when it is there, cut into
# messages by seeds.py.  Findings that were fixed go to
# tests/fuzz/regress/HARNESS/ so they are replayed in CI forever.
#
# Without clang this exits 77 (skip) after saying so; CI then still replays
# regress/ with `make fuzz-replay` (gcc, ASan+UBSan).
set -eu
cd "$(dirname "$0")/../.."
B=build-fuzz
CLANG=${CLANG:-clang}
mode=${1:-all}
[ $# -gt 0 ] && shift
jobs=$(nproc 2>/dev/null || echo 2)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

harnesses() {
    for f in tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done
}

build() {
    if ! command -v "$CLANG" >/dev/null 2>&1; then
        echo "skip: $CLANG not found; the harnesses need libFuzzer (apt-get install clang)"
        exit 77
    fi
    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
    # the library, instrumented for coverage.  No -Werror here: clang warns
    # about things gcc does not (the gcc builds are the warning gate)
    make -s -j"$jobs" CC="$CLANG" BUILD=$B WARN="-Wall -Wextra -Wno-sign-conversion" \
        OPT="-O1 -g $SAN -fsanitize=fuzzer-no-link -DTD_FUZZING" \
        LDOPT="$SAN" $B/libtlsdiag.a
    libs=$(pkg-config --libs libpcap libssl libcrypto zlib)
    for h in $(harnesses); do
        src=tests/fuzz/fuzz_$h.c
        out=$B/fuzz_$h
        if [ ! -x "$out" ] || [ -n "$(find "$src" tests/fuzz/fuzz_common.h $B/libtlsdiag.a -newer "$out" 2>/dev/null)" ]; then
            echo "  CC $out"
            # shellcheck disable=SC2086
            "$CLANG" -std=c11 -O1 -g $SAN -fsanitize=fuzzer -DTD_FUZZING \
                -Iinclude -Ilib -Ilib/registry -Itests/fuzz \
                -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
                -o "$out" "$src" $B/libtlsdiag.a $libs -lm -pthread
        fi
    done
}

seeds() {
    rm -rf $B/seeds
    mkdir -p $B/seeds
    caps=$(ls tests/data/lab/*.pcap tests/data/lab/*.pcapng 2>/dev/null || true)
    shared=""
    if [ -d ../shared/corpus ]; then
        shared=$(find ../shared/corpus -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
    else
        echo "note: ../shared/corpus not present; seeds from tests/data only"
    fi
    # shellcheck disable=SC2086
    python3 tests/fuzz/seeds.py $B/seeds $caps $shared
    for h in pcap_file pipeline; do
        mkdir -p $B/seeds/$h
        # shellcheck disable=SC2086
        for f in $caps $shared; do
            sz=$(wc -c <"$f")
            # big captures make slow executions; libFuzzer caps input size anyway
            [ "$sz" -le 1048576 ] && cp "$f" "$B/seeds/$h/$(basename "$f")"
        done
    done
    mkdir -p $B/seeds/keylog
    cp tests/data/lab/*.keys $B/seeds/keylog/ 2>/dev/null || true
    mkdir -p $B/seeds/decode
    cp tests/data/decode/* $B/seeds/decode/ 2>/dev/null || true
    if [ -d ../shared/seed ]; then
        find ../shared/seed -type f -name '*.txt' -o -type f -name '*.md' | while read -r f; do
            cp "$f" "$B/seeds/decode/$(basename "$f")"
        done
    fi
    for h in $(harnesses); do mkdir -p $B/seeds/$h; done
}

replay() { # replay regress/HARNESS/* through each harness (no fuzzing)
    rc=0
    for h in $(harnesses); do
        d=tests/fuzz/regress/$h
        files=$(find "$d" -type f ! -name README 2>/dev/null | sort)
        [ -z "$files" ] && continue
        # shellcheck disable=SC2086
        if ! $B/fuzz_$h -runs=0 $files >$B/replay-$h.log 2>&1; then
            echo "FAIL replay $h (see $B/replay-$h.log)"; tail -30 $B/replay-$h.log; rc=1
        else
            echo "ok   replay $h: $(echo "$files" | wc -l) input(s)"
        fi
    done
    return $rc
}

run() { # run SECS [HARNESS...]
    secs=$1
    shift
    list=${*:-$(harnesses)}
    [ -d $B/seeds ] || seeds
    replay || return 1
    rc=0
    for h in $list; do
        # a harness newer than the seeds gets an empty seed directory
        mkdir -p $B/corpus/$h $B/findings/$h $B/seeds/$h
        # corpus first (grows), seeds read-only after it
        if ! $B/fuzz_$h -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
                -artifact_prefix=$B/findings/$h/ -print_final_stats=1 \
                $B/corpus/$h $B/seeds/$h >$B/fuzz-$h.log 2>&1; then
            echo "FAIL fuzz $h: finding in $B/findings/$h/ (log $B/fuzz-$h.log)"
            grep -m1 -A25 'ERROR\|invariant failed\|runtime error' $B/fuzz-$h.log || tail -30 $B/fuzz-$h.log
            rc=1
        else
            echo "ok   fuzz $h: $(grep -o 'stat::number_of_executed_units: *[0-9]*' $B/fuzz-$h.log | grep -o '[0-9]*$') runs in ${secs}s"
        fi
    done
    return $rc
}

case $mode in
build) build ;;
seeds) seeds ;;
replay) build; replay ;;
run) build; run "$@" ;;
all) build; run "${FUZZ_TIME:-20}" ;;
*) echo "usage: $0 [build|seeds|replay|run SECS [HARNESS...]]" >&2; exit 2 ;;
esac
