/* synth.h: one synthetic IPv4/TCP packet (LINKTYPE_RAW), for code that
 * replays TLS bytes it got some other way through td_engine: pasted text
 * (lib/decode/synth.c) and the prober's recorded exchanges (lib/probe/run.c).
 * Not public: libtlsdiag's own layers above lib/capture use it. */
#ifndef TD_CAPTURE_SYNTH_H
#define TD_CAPTURE_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#define TD_SYNTH_HDR_LEN 40u /* IPv4 (20) + TCP (20), no options */

/* The endpoints of every synthetic connection (RFC 5737 documentation
 * addresses): client 192.0.2.1 (TEST-NET-1), server 198.51.100.1
 * (TEST-NET-2). */
extern const uint8_t td_synth_client_addr[4];
extern const uint8_t td_synth_server_addr[4];

struct td_synth_tcp4 {
    const uint8_t *src, *dst; /* 4 bytes each */
    uint16_t sport, dport;
    uint32_t seq, ack;        /* ack is written as given (0 without ACK) */
    uint16_t ipid;
    uint8_t ttl;
    uint8_t flags;            /* TD_TCP_* */
};

/* td_synth_tcp4 writes the IPv4 header (DF, protocol 6, checksum) and the
 * TCP header (data offset 5, window 65535, checksum over the RFC 9293
 * pseudo-header) for |h| followed by |plen| bytes of |payload| into |buf|
 * (|cap| bytes).  RFC 791, RFC 9293.  Returns the packet length, or 0 when
 * it does not fit |cap| or an IPv4 total length (nothing is written then). */
size_t td_synth_tcp4(uint8_t *buf, size_t cap, const struct td_synth_tcp4 *h, const uint8_t *payload,
                     size_t plen);

#endif
