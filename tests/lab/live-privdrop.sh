#!/bin/sh
# tests/lab/live-privdrop.sh [TLSDIAG]: `tlsdiag live` drops root after opening
# the interface (issue 5).  As root, in a network namespace of its own (only a
# loopback: no traffic leaves it), it starts `tlsdiag live -i lo`, waits for
# "listening" and reads the process's real/effective/saved uids and gids and
# its supplementary groups from /proc; then checks that an unknown user, root
# as the target and a SUDO_UID without a passwd entry all stop it before it
# listens (fail closed).  Exit 77 when not root or without unshare.
set -u
T=${1:-build/tlsdiag}
if [ "$(id -u)" != 0 ]; then echo "live-privdrop: needs root; skipping" >&2; exit 77; fi
if ! unshare -n true 2>/dev/null; then echo "live-privdrop: cannot unshare a network namespace; skipping" >&2; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# drops NAME UID GID [ENV...] -- [ARGS...]: live runs as UID:GID with no
# supplementary group but GID's own
drops() {
    name=$1 wuid=$2 wgid=$3
    shift 3
    envs=
    while [ "$1" != -- ]; do envs="$envs $1"; shift; done
    shift
    # no stale "listening" from the run before: a signal sent before
    # tlsdiag's handler is set would be lost (background sh ignores SIGINT)
    rm -f "$tmp/out" "$tmp/err"
    # shellcheck disable=SC2086
    env -u SUDO_UID $envs unshare -n sh -c 'ip link set lo up; exec "$@"' sh \
        "$T" live -i lo --no-progress "$@" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    for _ in $(seq 50); do grep -q listening "$tmp/err" 2>/dev/null && break; sleep 0.1; done
    if ! grep -q listening "$tmp/err" 2>/dev/null; then
        bad "$name: live did not start: $(head -2 "$tmp/err")"
        kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
        return
    fi
    # the sh -c execs tlsdiag, so $pid is tlsdiag itself
    st=/proc/$pid/status
    uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")
    gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")
    groups=$(awk '/^Groups:/ { $1 = ""; print }' "$st" | tr -s ' ' | sed 's/^ //; s/ $//')
    capeff=$(awk '/^CapEff:/ { print $2 }' "$st")
    kill -INT "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        bad "$name: SIGINT did not end live mode"
    fi
    wait "$pid"
    rc=$?
    want_groups=$(id -G "$(getent passwd "$wuid" | cut -d: -f1)" | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
    have_groups=$(echo "$groups" | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
    if [ "$uids" = "$wuid $wuid $wuid $wuid" ]; then ok "$name: uids $uids"; else bad "$name: uids '$uids', want $wuid x4"; fi
    if [ "$gids" = "$wgid $wgid $wgid $wgid" ]; then ok "$name: gids $gids"; else bad "$name: gids '$gids', want $wgid x4"; fi
    case " $have_groups " in
    *" 0 "*) bad "$name: still in group 0 ($have_groups)" ;;
    *) if [ "$have_groups" = "$want_groups" ] || [ -z "$have_groups" ]; then ok "$name: groups '$have_groups'"
       else bad "$name: groups '$have_groups', want '$want_groups'"; fi ;;
    esac
    if [ "$capeff" = 0000000000000000 ]; then ok "$name: no effective capabilities"; else bad "$name: CapEff $capeff"; fi
    if [ "$rc" = 0 ]; then ok "$name: summary on SIGINT, exit 0"; else bad "$name: exit $rc"; fi
}

# refuses NAME PATTERN [ENV...] -- [ARGS...]: live stops (exit 5) before listening
refuses() {
    name=$1 pat=$2
    shift 2
    envs=
    while [ "$1" != -- ]; do envs="$envs $1"; shift; done
    shift
    # shellcheck disable=SC2086
    env -u SUDO_UID $envs unshare -n sh -c 'ip link set lo up; exec "$@"' sh \
        timeout 10 "$T" live -i lo --no-progress "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 5 ] && grep -q -- "$pat" "$tmp/err" && ! grep -q listening "$tmp/err"; then
        ok "$name: exit 5 before listening"
    else
        bad "$name: exit $rc, stderr: $(head -2 "$tmp/err")"
    fi
}

nobody_uid=$(id -u nobody) nobody_gid=$(getent passwd nobody | cut -d: -f4)
daemon_uid=$(id -u daemon) daemon_gid=$(getent passwd daemon | cut -d: -f4)
drops "default (nobody)" "$nobody_uid" "$nobody_gid" --
drops "--user daemon" "$daemon_uid" "$daemon_gid" -- --user daemon
drops "-Z daemon" "$daemon_uid" "$daemon_gid" -- -Z daemon
drops "SUDO_UID=$daemon_uid (run by sudo)" "$daemon_uid" "$daemon_gid" "SUDO_UID=$daemon_uid" --
drops "--user wins over SUDO_UID" "$nobody_uid" "$nobody_gid" "SUDO_UID=$daemon_uid" -- --user nobody
refuses "unknown user" "no such user" -- --user no-such-user-td
refuses "root as the target" "is root" -- --user root
refuses "SUDO_UID without a passwd entry" "has no passwd entry" SUDO_UID=4000123 --
[ "$fails" = 0 ] || { echo "$fails live privilege check(s) failed"; exit 1; }
echo "live-privdrop: all checks passed"
