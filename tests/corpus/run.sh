#!/bin/sh
# tests/corpus/run.sh [TLSDIAG [TLSDIAG_SAN]]: the corpus conformance tests.
#   1. compare_tshark.py: facts per connection against tshark
#   2. check_ja4.py: JA4 against FoxIO's expected values
#   3. robustness: tlsdiag read --json --all over every corpus file with the
#      sanitizer build (ASan+UBSan), 60 s each; exit 0 or 4 (corrupt or
#      truncated input) and every output line valid JSON
#   4. failures: every failed connection has a primary diagnosis other than
#      "unknown", or is listed in check_failures.py with the reason
# The corpus is $TD_SHARED/corpus or ../shared/corpus from the repo root;
# without it everything is skipped (exit 0).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/tlsdiag}
san=${2:-$root/build-san/tlsdiag}
if [ -n "${TD_SHARED:-}" ]; then corpus=$TD_SHARED/corpus; else corpus=$root/../shared/corpus; fi
if [ ! -d "$corpus" ]; then
    echo "SKIP: corpus not found at $corpus (set TD_SHARED)"
    exit 0
fi
start=$(date +%s)
fail=0

echo "== compare with tshark"
if command -v tshark >/dev/null 2>&1; then
    python3 "$here/compare_tshark.py" "$bin" || fail=1
else
    echo "SKIP: tshark not installed"
fi

echo "== JA4"
python3 "$here/check_ja4.py" "$bin" || fail=1

echo "== robustness (sanitizer build)"
if [ -x "$san" ]; then
    python3 "$here/robustness.py" "$san" || fail=1
else
    echo "SKIP: no sanitizer build at $san (make MODE=san BUILD=build-san all)"
fi

echo "== failed connections have a diagnosis"
python3 "$here/check_failures.py" "$bin" || fail=1

echo "== corpus tests: $( [ $fail = 0 ] && echo PASS || echo FAIL ) in $(( $(date +%s) - start )) s"
exit $fail
