#!/bin/sh
# tests/fuzz/ci.sh: the fuzzing step of tests/run-all.sh.
#   1. replay every tests/fuzz/regress/HARNESS/ input through the harnesses
#      built by the normal ASan+UBSan build (gcc, replay_main.c): always;
#      then the seed corpora (tests/fuzz/build.sh seeds) the same way;
#   2. with clang: build the libFuzzer harnesses and fuzz each one for
#      FUZZ_CI_SECS seconds (default 4; 9 harnesses ~ 40 s) from the seeds;
#      any crash, sanitizer report, leak or invariant failure fails the step
#      and leaves the input in build-fuzz/findings/HARNESS/.
#   Without clang step 2 is skipped with a message.
set -eu
cd "$(dirname "$0")/../.."
jobs=$(nproc 2>/dev/null || echo 2)
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
make -s -j"$jobs" MODE=san BUILD=build-san fuzz-replay
rc=0
replay() { # replay LABEL DIR: DIR's inputs through build-san/fuzz/fuzz_$(basename DIR)
    h=$(basename "$2")
    if out=$(build-san/fuzz/fuzz_$h "$2" 2>&1); then
        echo "ok   $1/$h: $out"
    else
        echo "FAIL $1/$h:"; echo "$out" | tail -20; rc=1
    fi
}
for d in tests/fuzz/regress/*/; do
    h=$(basename "$d")
    if [ ! -x build-san/fuzz/fuzz_$h ]; then
        echo "FAIL regress/$h: no harness tests/fuzz/fuzz_$h.c"; rc=1; continue
    fi
    if [ -z "$(find "$d" -type f ! -name README)" ]; then
        echo "note regress/$h: no regression inputs yet (its seeds are replayed below)"
        continue
    fi
    replay regress "$d"
done
[ "$rc" = 0 ] || exit 1
# 1b. the seed corpora (made from the lab captures and ../shared, not
# committed) through the same harnesses: every harness sees real inputs
# even where regress/ is empty and clang is missing (about a second)
sh tests/fuzz/build.sh seeds >/dev/null
for d in build-fuzz/seeds/*/; do
    h=$(basename "$d")
    [ -x build-san/fuzz/fuzz_$h ] || continue
    if [ -z "$(ls "$d")" ]; then
        echo "note seeds/$h: no seeds"
        continue
    fi
    replay seeds "$d"
done
[ "$rc" = 0 ] || exit 1
if ! command -v "${CLANG:-clang}" >/dev/null 2>&1; then
    echo "skip: clang not installed: regressions replayed above, no libFuzzer runs"
    exit 0
fi
sh tests/fuzz/build.sh run "${FUZZ_CI_SECS:-4}"
