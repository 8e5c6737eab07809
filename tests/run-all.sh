#!/bin/sh
# The whole test suite (./bootstrap check, .ci/run):
#   1. release build, cmocka unit tests
#   2. ASan+UBSan build, the same unit tests
#   3. every committed lab fixture: outcome and primary code (both builds);
#      docs/diagnoses.md gives each code and outcome its contract meaning
#   3b. decryption (--keylog, pcapng secrets) agrees with tshark on every
#      fixture with a key log (tshark's output committed; check_decrypt.py
#      --tshark asks tshark again); every suite covered
#   4. command-line behaviour: exit codes, errors naming file and offset
#   4b. fuzzing (tests/fuzz/ci.sh): regress/ replayed, each harness ~4 s
#   4c. read -j 2 / -j 3 output byte for byte equal to -j 1 (tests/jobs.sh, release and sanitizers,
#       then ThreadSanitizer with every hand-over through the waits: a report fails the compare)
#   5. conformance on ../shared/corpus against tshark and FoxIO's JA4 (skipped
#      with a message when ../shared is absent)
#   6. the live lab (root only): real servers and middlebox in network
#      namespaces, fresh captures judged against the same expectations
#   6b. tlsdiag live drops root after opening the interface (root only,
#      tests/lab/live-privdrop.sh, a few seconds)
#   7. tlsdiag probe against lab servers and hostile listeners (root only)
#   8. probe --starttls for the seven protocols against small loopback servers
#   9. probe --starttls against real PostgreSQL/Dovecot/vsftpd/slapd (root, when installed)
#  10. tlsdiag probe against sslscan and nmap on lab servers, and the client
#      simulation's causes and fixes (root only, tests/lab/probe-compare.sh)
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
start=$(date +%s)
# Lab namespaces are named after this run (LAB_NS, tests/lab/lib.sh) so two
# runs on one machine (a developer and CI, two worktrees) never share them.
labns="td$$"
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "release build and unit tests"
make -j"$jobs" all unit
step "ASan+UBSan build and unit tests"
make -j"$jobs" MODE=san BUILD=build-san all unit
step "lab fixtures, release build"
python3 tests/check_fixtures.py build/tlsdiag
python3 tests/check_diag_docs.py
step "lab fixtures, ASan+UBSan build"
python3 tests/check_fixtures.py build-san/tlsdiag
step "decryption with key logs vs tshark, ASan+UBSan build"
# tshark's answers are committed (tests/data/lab/decrypt_tshark.json); a
# capture without one is asked of tshark, so it must be installed then
python3 tests/check_decrypt.py build-san/tlsdiag
step "command line"
sh tests/cli.sh build-san/tlsdiag
step "fuzzing: regression inputs, then a few seconds per harness"
sh tests/fuzz/ci.sh
step "read -j N prints what -j 1 prints (release, then ASan+UBSan)"
sh tests/jobs.sh build/tlsdiag
sh tests/jobs.sh build-san/tlsdiag
step "read -j N under ThreadSanitizer, results in flight bounded at 2"
make -j"$jobs" tsan
sh tests/jobs.sh build-tsan/tlsdiag
step "corpus conformance"
if [ -f tests/corpus/run.sh ]; then
    sh tests/corpus/run.sh
else
    echo "skip: tests/corpus/run.sh not present"
fi
step "live lab"
if [ "$(id -u)" != 0 ]; then
    echo "skip: the live lab needs root (network namespaces); the committed fixtures were checked above"
elif ! ip netns add tdprobe$$ 2>/dev/null; then
    echo "skip: cannot create network namespaces here"
else
    ip netns del tdprobe$$
    out=$(mktemp -d /tmp/tdlab-out.XXXXXX)
    rc=0
    LAB_NS="$labns" OUT="$out" bash tests/lab/make-fixtures.sh || rc=$?
    if [ "$rc" = 77 ]; then
        echo "skip: the lab's tools are missing (see above)"
    elif [ "$rc" != 0 ]; then
        echo "live lab failed to run (exit $rc)"
        exit 1
    else
        python3 tests/check_fixtures.py --dir "$out" build/tlsdiag
    fi
    rm -rf "$out"
fi
step "live mode drops root (root only)"
rc=0
sh tests/lab/live-privdrop.sh build/tlsdiag || rc=$?
if [ "$rc" = 77 ]; then
    echo "skip: needs root and unshare"
elif [ "$rc" != 0 ]; then
    echo "live privilege drop test failed (exit $rc)"
    exit 1
fi
step "probe against the live lab"
if [ "$(id -u)" != 0 ]; then
    echo "skip: the probe lab needs root"
else
    rc=0
    LAB_NS="${labns}p" bash tests/lab/probe-test.sh build/tlsdiag || rc=$?
    if [ "$rc" = 77 ]; then
        echo "skip: the lab's tools are missing"
    elif [ "$rc" != 0 ]; then
        echo "probe lab test failed (exit $rc)"
        exit 1
    fi
fi
step "probe --starttls against scripted STARTTLS servers (loopback)"
bash tests/lab/starttls-probe.sh build-san/tlsdiag
step "probe --starttls against real servers (root; PostgreSQL, Dovecot, vsftpd, slapd when installed)"
rc=0
bash tests/lab/starttls-real.sh build/tlsdiag || rc=$?
if [ "$rc" = 77 ]; then
    echo "skip: needs root and at least one of postgresql, dovecot, vsftpd, slapd"
elif [ "$rc" != 0 ]; then
    echo "STARTTLS real-server test failed (exit $rc)"
    exit 1
fi
step "probe vs sslscan and nmap, client simulation (root only)"
rc=0
LAB_NS="${labns}pc" bash tests/lab/probe-compare.sh build/tlsdiag || rc=$?
if [ "$rc" = 77 ]; then
    echo "skip: needs root and sslscan/nmap (see above)"
elif [ "$rc" != 0 ]; then
    echo "probe comparison failed (exit $rc)"
    exit 1
fi
step "all tests passed"
