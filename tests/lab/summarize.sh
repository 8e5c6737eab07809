#!/bin/bash
# summarize.sh FILE... : one line per frame (src>dst, TTL/hop limit, TCP flags,
# TCP payload length, TLS record/handshake/alert summary) for checking fixtures.
for f in "$@"; do
    echo "== $f"
    tshark -r "$f" -o tcp.analyze_sequence_numbers:TRUE -T fields -E separator=' ' \
        -e frame.number -e frame.time_relative -e ip.src -e ipv6.src -e ip.ttl -e ipv6.hlim \
        -e tcp.srcport -e tcp.dstport -e tcp.flags.str -e tcp.len -e _ws.col.Info 2>/dev/null \
        | awk '{ printf "%s\n", $0 }'
done
