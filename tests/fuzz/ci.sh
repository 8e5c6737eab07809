#!/bin/sh
# tests/fuzz/ci.sh: the fuzzing step of tests/run-all.sh.
#   1. replay every tests/fuzz/regress/HARNESS/ input through the harnesses
#      built by the normal ASan+UBSan build (gcc, replay_main.c): always;
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
for d in tests/fuzz/regress/*/; do
    h=$(basename "$d")
    if [ ! -x build-san/fuzz/fuzz_$h ]; then
        echo "FAIL regress/$h: no harness tests/fuzz/fuzz_$h.c"; rc=1; continue
    fi
    if out=$(build-san/fuzz/fuzz_$h "$d" 2>&1); then
        echo "ok   regress/$h: $out"
    else
        echo "FAIL regress/$h:"; echo "$out" | tail -20; rc=1
    fi
done
[ "$rc" = 0 ] || exit 1
if ! command -v "${CLANG:-clang}" >/dev/null 2>&1; then
    echo "skip: clang not installed: regressions replayed above, no libFuzzer runs"
    exit 0
fi
sh tests/fuzz/build.sh run "${FUZZ_CI_SECS:-4}"
