/* pcapw.h: test-only writers for pcap / pcapng files and packet bytes.
 * Growable, abort on out-of-memory (tests only; never linked into lib/). */
#ifndef TLSDIAG_TESTS_PCAPW_H
#define TLSDIAG_TESTS_PCAPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcapw {
    uint8_t *buf;
    size_t len, cap;
    bool le; /* write multi-byte fields little-endian */
};

void pcapw_init(struct pcapw *w, bool little_endian);
void pcapw_free(struct pcapw *w);
void pcapw_u8(struct pcapw *w, uint8_t v);
void pcapw_u16(struct pcapw *w, uint16_t v);
void pcapw_u32(struct pcapw *w, uint32_t v);
void pcapw_bytes(struct pcapw *w, const void *p, size_t n);
void pcapw_pad4(struct pcapw *w);

/* classic pcap */
void pcapw_pcap_hdr(struct pcapw *w, bool nsec, uint32_t linktype, uint32_t snaplen);
void pcapw_pcap_rec(struct pcapw *w, uint32_t sec, uint32_t frac, const uint8_t *data,
                    uint32_t caplen, uint32_t origlen);

/* pcapng: blocks are framed by begin/end (end pads and writes both lengths) */
size_t pcapw_block_begin(struct pcapw *w, uint32_t type);
void pcapw_block_end(struct pcapw *w, size_t start);
void pcapw_shb(struct pcapw *w);
/* tsresol < 0: no if_tsresol option */
void pcapw_idb(struct pcapw *w, uint16_t linktype, uint32_t snaplen, int tsresol);
void pcapw_epb(struct pcapw *w, uint32_t ifid, uint64_t ts, const uint8_t *data, uint32_t caplen,
               uint32_t origlen);
void pcapw_spb(struct pcapw *w, uint32_t origlen, const uint8_t *data, uint32_t n);
void pcapw_dsb(struct pcapw *w, uint32_t type, const uint8_t *data, uint32_t n);

/* pcapw_save writes the bytes to a new temp file (gzip'd if asked) and
 * returns its malloc'd path; the caller unlinks and frees it. */
char *pcapw_save(const struct pcapw *w, size_t len, bool gzip);

/* ---- packet bytes, always network order ---- */
struct pktb {
    uint8_t b[4096];
    size_t n;
};
void pb_u8(struct pktb *p, uint8_t v);
void pb_u16(struct pktb *p, uint16_t v);
void pb_u32(struct pktb *p, uint32_t v);
void pb_zero(struct pktb *p, size_t n);
/* Ethernet header with the given ethertype */
void pb_eth(struct pktb *p, uint16_t ethertype);
/* IPv4 header, 10.0.0.1 -> 10.0.0.2, ttl 64, id 0x1234, with |optlen|
 * (multiple of 4) zero option bytes */
void pb_ipv4(struct pktb *p, uint16_t total_len, uint8_t proto, uint16_t frag, size_t optlen);
/* IPv6 header 2001:db8::1 -> 2001:db8::2, hop limit 63 */
void pb_ipv6(struct pktb *p, uint16_t payload_len, uint8_t next);
/* TCP header 40000 -> 443 seq 1000 ack 2000, window 512, with SYN options
 * MSS 1460 + NOP + WS 7 + EOL (8 bytes) when |syn_opts| */
void pb_tcp(struct pktb *p, uint8_t flags, bool syn_opts);
/* TCP packet over Ethernet/IPv4 with |payload| bytes of 'A' */
void pb_eth_ipv4_tcp(struct pktb *p, uint8_t flags, size_t payload);

#endif
