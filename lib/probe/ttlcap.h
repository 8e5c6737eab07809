/* ttlcap.h: the probe's own packets seen through libpcap (internal to lib/probe).
 *
 * A socket never shows a segment's TTL, yet the TTL of a RST against the
 * server's SYN-ACK is what tells a middlebox's reset from the server's.  As
 * root, td_ttlcap_open captures on the interface of the route to the target,
 * with a BPF filter on the target's address and port and on SYN or RST,
 * immediate mode and a small buffer; td_ttlcap_drain hands each packet's
 * local port, TCP flags and TTL (hop limit) to a callback. */
#ifndef TD_PROBE_TTLCAP_H
#define TD_PROBE_TTLCAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct td_ttlcap;
typedef void (*td_ttlcap_fn)(void *ctx, uint16_t local_port, uint8_t tcp_flags, uint8_t ttl);

/* NULL with |why| set when not root or the capture cannot start. */
struct td_ttlcap *td_ttlcap_open(const struct sockaddr *addr, socklen_t addrlen, char *why,
                                 size_t whylen);
/* Reads what is captured so far, without blocking. */
void td_ttlcap_drain(struct td_ttlcap *c, td_ttlcap_fn fn, void *ctx);
void td_ttlcap_close(struct td_ttlcap *c);

#endif
