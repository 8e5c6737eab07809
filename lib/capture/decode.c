/* decode.c: link layer -> IPv4/IPv6 -> TCP.
 *
 * Every header is read through a td_cur made over the captured bytes, so
 * anomaly offsets are offsets into the packet.  Three outcomes are kept
 * apart: the capture cut a header short (PKT_TRUNCATED, the snaplen's
 * fault), a header contradicts itself (IP_BAD_HEADER / TCP_BAD_HEADER, the
 * sender's fault), and plain "not for us" (NOT_TCP, UNKNOWN_LINK). */
#include "tlsdiag/capture.h"

#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_8021Q 0x8100
#define ETHERTYPE_8021AD 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define MAX_VLAN_TAGS 8     /* more stacked tags than this: not decoded */
#define MAX_IPV6_EXT_HDRS 16 /* bounded walk of the extension-header chain */

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define GTPU_PORT 2152
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_ESP_ 50
#define IPPROTO_AH_ 51
#define IPPROTO_NONE_ 59
#define IPPROTO_DSTOPTS_ 60

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3

static enum td_decode_res malformed(struct td_diag *d, enum td_anomaly code, const struct td_cur *at)
{
    td_diag_add(d, code, 0, at->off);
    return TD_DEC_MALFORMED;
}

static uint32_t bswap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

/* on_wire returns how many bytes from the IP header at |c| on were on the
 * wire, per the frame's original length (or UINT32_MAX if that is unknown:
 * origlen below the captured length is itself inconsistent). */
static uint32_t on_wire(const struct td_cur *c, uint32_t origlen)
{
    if (origlen < c->off + td_cur_len(c))
        return UINT32_MAX;
    return origlen - (uint32_t)c->off;
}

/* TCP header (RFC 9293 section 3.1):
 *   u16 source_port; u16 destination_port; u32 sequence_number;
 *   u32 acknowledgment_number; u4 data_offset; u4 reserved; u8 flags;
 *   u16 window; u16 checksum; u16 urgent_pointer; options[data_offset*4-20]
 * |c| holds the captured part of the segment, |wire_len| its length per
 * the IP header.  Options (section 3.2) are read only on SYN: MSS (kind 2,
 * length 4) and window scale (RFC 7323 section 2.2: kind 3, length 3).
 * Bad option framing is recorded but does not lose the segment. */
static enum td_decode_res decode_tcp(struct td_tcp_pkt *out, struct td_cur *cin, uint32_t wire_len,
                                     struct td_diag *d)
{
    /* a local cursor: the compiler can keep it in registers (through the
     * caller's pointer every field read re-stored it, in case it was |out|) */
    struct td_cur cl = *cin, *c = &cl;
    struct td_cur start = *c, opts;
    uint8_t doff_byte;
    uint16_t csum, urg;
    size_t hlen;

    if (wire_len < 20)
        return malformed(d, TD_AN_TCP_BAD_HEADER, c);
    if (td_cur_len(c) < 20)
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    if (!td_cur_get_u16(c, &out->sport) || !td_cur_get_u16(c, &out->dport) ||
        !td_cur_get_u32(c, &out->seq) || !td_cur_get_u32(c, &out->ack) ||
        !td_cur_get_u8(c, &doff_byte) || !td_cur_get_u8(c, &out->flags) ||
        !td_cur_get_u16(c, &out->window) || !td_cur_get_u16(c, &csum) ||
        !td_cur_get_u16(c, &urg))
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    hlen = (size_t)(doff_byte >> 4) * 4;
    if (hlen < 20 || hlen > wire_len) {
        struct td_cur at = start;
        if (!td_cur_skip(&at, 12)) /* point at the data offset field */
            at = start;
        return malformed(d, TD_AN_TCP_BAD_HEADER, &at);
    }
    if (!td_cur_get_bytes(c, &opts, hlen - 20))
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    out->payload_wire_len = wire_len - (uint32_t)hlen;
    out->payload = *c;
    if (!(out->flags & TD_TCP_SYN))
        return TD_DEC_TCP;
    while (!td_cur_empty(&opts)) {
        uint8_t kind, olen;
        struct td_cur val;

        if (!td_cur_get_u8(&opts, &kind))
            break;
        if (kind == TCPOPT_EOL)
            break;
        if (kind == TCPOPT_NOP)
            continue;
        if (!td_cur_get_u8(&opts, &olen) || olen < 2 || !td_cur_get_bytes(&opts, &val, olen - 2u)) {
            td_diag_add(d, TD_AN_TCP_BAD_HEADER, 0, opts.off);
            break;
        }
        if (kind == TCPOPT_MSS && olen == 4) {
            if (!td_cur_get_u16(&val, &out->mss))
                out->mss = 0;
        } else if (kind == TCPOPT_WSCALE && olen == 3) {
            if (!td_cur_get_u8(&val, &out->wscale))
                out->wscale = 0xff;
        }
    }
    return TD_DEC_TCP;
}

static enum td_decode_res decode_ip(struct td_tcp_pkt *out, struct td_cur *c, uint32_t origlen,
                                    struct td_diag *d);

/* UDP (RFC 768: u16 sport; u16 dport; u16 length; u16 checksum) carrying
 * GTP-U (3GPP TS 29.281 section 5.1) on port 2152: the TCP inside a mobile
 * core's tunnel is decoded as the flow.  GTP-U header: u8 flags (version 3
 * bits = 1, PT = 1, E, S, PN); u8 message_type (255 = G-PDU); u16 length;
 * u32 TEID; when E, S or PN is set: u16 sequence; u8 N-PDU; u8
 * next_extension_type; extension headers: u8 length (4-octet units, >= 1);
 * content; u8 next_extension_type, until 0.  One tunnel level only. */
static enum td_decode_res decode_udp_gtpu(struct td_tcp_pkt *out, struct td_cur *dgram, uint32_t origlen,
                                          struct td_diag *d)
{
    struct td_cur c = *dgram;
    uint16_t sport, dport, ulen, sum, glen;
    uint8_t flags, type, next = 0;
    uint32_t teid;

    if (out->num_tunnels > 0)
        return TD_DEC_NOT_TCP;
    if (!td_cur_get_u16(&c, &sport) || !td_cur_get_u16(&c, &dport) || !td_cur_get_u16(&c, &ulen) ||
        !td_cur_get_u16(&c, &sum))
        return TD_DEC_NOT_TCP;
    if (sport != GTPU_PORT && dport != GTPU_PORT)
        return TD_DEC_NOT_TCP;
    if (!td_cur_get_u8(&c, &flags) || !td_cur_get_u8(&c, &type) || !td_cur_get_u16(&c, &glen) ||
        !td_cur_get_u32(&c, &teid))
        return TD_DEC_NOT_TCP;
    (void)teid;
    if ((flags >> 5) != 1 || (flags & 0x10) == 0 || type != 0xff)
        return TD_DEC_NOT_TCP; /* not GTPv1-U G-PDU (echo, GTP', ...) */
    if (flags & 0x07) {
        uint16_t seq;
        uint8_t npdu;
        if (!td_cur_get_u16(&c, &seq) || !td_cur_get_u8(&c, &npdu) || !td_cur_get_u8(&c, &next))
            return TD_DEC_NOT_TCP;
        for (unsigned i = 0; next != 0 && i < 8; i++) {
            uint8_t elen;
            if (!td_cur_get_u8(&c, &elen) || elen == 0 || !td_cur_skip(&c, (size_t)elen * 4u - 2u) ||
                !td_cur_get_u8(&c, &next))
                return TD_DEC_NOT_TCP;
        }
        if (next != 0)
            return TD_DEC_NOT_TCP;
    }
    out->num_tunnels++;
    return decode_ip(out, &c, origlen, d);
}

/* put_v4 writes an IPv4 address into the 16-byte field together with the
 * zeros after it, as the two 8-byte words that the flow key reads
 * (flowtab.c td_flow_key_make).  Written as the memset's stores plus a
 * 4-byte store, those loads spanned two stores, could not be forwarded,
 * and waited for the stores to reach the cache. */
TD_MUST_CHECK static inline bool put_v4(struct td_cur *c, uint8_t dst[16])
{
    uint8_t a[16] = {0};
    if (!td_cur_copy(c, a, 4))
        return false;
    memcpy(dst, a, 16);
    return true;
}

/* IPv4 header (RFC 791 section 3.1):
 *   u4 version; u4 ihl; u8 tos; u16 total_length; u16 identification;
 *   u3 flags; u13 fragment_offset; u8 ttl; u8 protocol; u16 checksum;
 *   u32 source; u32 destination; options[ihl*4-20]
 * total_length trims link-layer padding (Ethernet pads to 60 bytes).  A
 * total_length of 0 is what TCP segmentation offload leaves in captures
 * taken on the sending host: then the captured bytes are the datagram. */
static enum td_decode_res decode_ipv4(struct td_tcp_pkt *out, struct td_cur *cin, uint32_t origlen,
                                      struct td_diag *d)
{
    struct td_cur cl = *cin, *c = &cl; /* local, as in decode_tcp */
    struct td_cur hdr = *c, opts, dgram;
    uint8_t vihl, tos, proto;
    uint16_t total, frag, csum;
    size_t hlen;
    uint32_t wire;

    if (td_cur_len(c) < 20)
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    if (!td_cur_get_u8(c, &vihl) || !td_cur_get_u8(c, &tos) || !td_cur_get_u16(c, &total) ||
        !td_cur_get_u16(c, &out->ipid) || !td_cur_get_u16(c, &frag) ||
        !td_cur_get_u8(c, &out->ttl) || !td_cur_get_u8(c, &proto) ||
        !td_cur_get_u16(c, &csum) || !put_v4(c, out->src) || !put_v4(c, out->dst))
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    out->ipver = 4;
    out->has_ipid = true;
    hlen = (size_t)(vihl & 0x0f) * 4;
    if ((vihl >> 4) != 4 || hlen < 20)
        return malformed(d, TD_AN_IP_BAD_HEADER, &hdr);
    if (total == 0)
        total = td_cur_len(&hdr) > UINT16_MAX ? UINT16_MAX : (uint16_t)td_cur_len(&hdr);
    if (total < hlen) {
        struct td_cur at = hdr;
        if (!td_cur_skip(&at, 2))
            at = hdr;
        return malformed(d, TD_AN_IP_BAD_HEADER, &at);
    }
    if (!td_cur_get_bytes(c, &opts, hlen - 20))
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    if (total > on_wire(&hdr, origlen)) {
        /* the header claims more than the frame carried: recorded, and the
         * frame's length used instead, as Wireshark does */
        td_diag_add(d, TD_AN_IP_BAD_HEADER, 0, hdr.off + 2);
        total = (uint16_t)on_wire(&hdr, origlen);
        if (total < hlen)
            return malformed(d, TD_AN_IP_BAD_HEADER, &hdr);
    }
    if ((frag & 0x3fff) != 0) { /* MF set or a non-zero offset */
        td_diag_add(d, TD_AN_IP_FRAGMENT, 0, hdr.off);
        return TD_DEC_FRAGMENT;
    }
    if (proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_)
        return TD_DEC_NOT_TCP;
    wire = (uint32_t)total - (uint32_t)hlen;
    /* the captured part of the datagram: padding beyond total_length dropped */
    if (!td_cur_get_bytes(c, &dgram, td_cur_len(c) < wire ? td_cur_len(c) : wire))
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    if (proto == IPPROTO_UDP_)
        return decode_udp_gtpu(out, &dgram, origlen, d);
    return decode_tcp(out, &dgram, wire, d);
}

/* IPv6 header (RFC 8200 section 3):
 *   u4 version; u8 traffic_class; u20 flow_label; u16 payload_length;
 *   u8 next_header; u8 hop_limit; u128 source; u128 destination
 * Extension headers (section 4) walked: Hop-by-Hop (0), Routing (43) and
 * Destination Options (60): u8 next; u8 hdr_ext_len (8-octet units, not
 * counting the first 8); Fragment (44, section 4.5): u8 next; u8 reserved;
 * u13 offset; u2 res; u1 M; u32 identification; AH (51, RFC 4302 section
 * 2.2): u8 next; u8 payload_len (4-octet units, minus 2).  An atomic
 * fragment (offset 0, M clear: RFC 6946) is a whole packet and decoded.
 * A payload_length of 0 (TSO, or a jumbogram) means "the captured bytes". */
static enum td_decode_res decode_ipv6(struct td_tcp_pkt *out, struct td_cur *c, uint32_t origlen,
                                      struct td_diag *d)
{
    struct td_cur hdr = *c, dgram;
    uint32_t vtf;
    uint16_t plen;
    uint8_t next;
    uint32_t wire;

    if (td_cur_len(c) < 40)
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    if (!td_cur_get_u32(c, &vtf) || !td_cur_get_u16(c, &plen) || !td_cur_get_u8(c, &next) ||
        !td_cur_get_u8(c, &out->ttl) || !td_cur_copy(c, out->src, 16) ||
        !td_cur_copy(c, out->dst, 16))
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    out->ipver = 6;
    if ((vtf >> 28) != 6)
        return malformed(d, TD_AN_IP_BAD_HEADER, &hdr);
    wire = plen != 0 ? plen : (uint32_t)td_cur_len(c);
    if (wire > on_wire(c, origlen)) {
        /* payload_length beyond the frame: recorded, frame length used */
        td_diag_add(d, TD_AN_IP_BAD_HEADER, 0, hdr.off + 4);
        wire = on_wire(c, origlen);
    }
    if (!td_cur_get_bytes(c, &dgram, td_cur_len(c) < wire ? td_cur_len(c) : wire))
        return malformed(d, TD_AN_PKT_TRUNCATED, c);

    for (unsigned i = 0; i < MAX_IPV6_EXT_HDRS; i++) {
        struct td_cur eh = dgram;
        uint8_t nxt, elen;
        size_t total;

        switch (next) {
        case IPPROTO_TCP_:
            return decode_tcp(out, &dgram, wire, d);
        case IPPROTO_UDP_:
            return decode_udp_gtpu(out, &dgram, origlen, d);
        case IPPROTO_HOPOPTS_:
        case IPPROTO_ROUTING_:
        case IPPROTO_DSTOPTS_:
        case IPPROTO_AH_:
        case IPPROTO_FRAGMENT_:
            break;
        default:
            return TD_DEC_NOT_TCP; /* ICMPv6, ESP (50), No Next Header (59)... */
        }
        if (wire < 8)
            return malformed(d, TD_AN_IP_BAD_HEADER, &eh);
        if (!td_cur_get_u8(&eh, &nxt) || !td_cur_get_u8(&eh, &elen))
            return malformed(d, TD_AN_PKT_TRUNCATED, &dgram);
        if (next == IPPROTO_FRAGMENT_) {
            uint16_t offm;
            if (!td_cur_get_u16(&eh, &offm))
                return malformed(d, TD_AN_PKT_TRUNCATED, &dgram);
            if ((offm & 0xfff9) != 0) { /* offset != 0 or M set */
                td_diag_add(d, TD_AN_IP_FRAGMENT, 0, dgram.off);
                return TD_DEC_FRAGMENT;
            }
            total = 8;
        } else if (next == IPPROTO_AH_) {
            total = ((size_t)elen + 2) * 4;
        } else {
            total = ((size_t)elen + 1) * 8;
        }
        if (total > wire)
            return malformed(d, TD_AN_IP_BAD_HEADER, &dgram);
        if (!td_cur_skip(&dgram, total))
            return malformed(d, TD_AN_PKT_TRUNCATED, &dgram);
        wire -= (uint32_t)total;
        next = nxt;
    }
    return malformed(d, TD_AN_IP_BAD_HEADER, &dgram);
}

/* decode_ip dispatches on the version nibble (raw IP link types). */
static enum td_decode_res decode_ip(struct td_tcp_pkt *out, struct td_cur *c, uint32_t origlen,
                                    struct td_diag *d)
{
    uint8_t v;

    if (!td_cur_peek_u8(c, 0, &v))
        return malformed(d, TD_AN_PKT_TRUNCATED, c);
    if ((v >> 4) == 4)
        return decode_ipv4(out, c, origlen, d);
    if ((v >> 4) == 6)
        return decode_ipv6(out, c, origlen, d);
    return TD_DEC_NOT_TCP;
}

/* decode_ethertype follows 802.1Q (0x8100), 802.1ad (0x88a8) and the old
 * QinQ 0x9100 tags: u16 tci; u16 next_ethertype, each. */
static enum td_decode_res decode_ethertype(struct td_tcp_pkt *out, struct td_cur *c, uint16_t type,
                                           uint32_t origlen, struct td_diag *d)
{
    while (type == ETHERTYPE_8021Q || type == ETHERTYPE_8021AD || type == ETHERTYPE_QINQ_OLD) {
        uint16_t tci;
        if (out->num_vlans >= MAX_VLAN_TAGS)
            return TD_DEC_NOT_TCP;
        if (!td_cur_get_u16(c, &tci) || !td_cur_get_u16(c, &type))
            return malformed(d, TD_AN_PKT_TRUNCATED, c);
        out->num_vlans++;
    }
    if (type == ETHERTYPE_IPV4)
        return decode_ipv4(out, c, origlen, d);
    if (type == ETHERTYPE_IPV6)
        return decode_ipv6(out, c, origlen, d);
    return TD_DEC_NOT_TCP;
}

/* decode_af: BSD loopback address families (IPv6 differs per OS). */
static enum td_decode_res decode_af(struct td_tcp_pkt *out, struct td_cur *c, uint32_t af,
                                    uint32_t origlen, struct td_diag *d)
{
    if (af == 2)
        return decode_ipv4(out, c, origlen, d);
    if (af == 24 || af == 28 || af == 30)
        return decode_ipv6(out, c, origlen, d);
    return TD_DEC_NOT_TCP;
}

/* Link headers:
 *   Ethernet: u48 dst; u48 src; u16 ethertype
 *   NULL:     u32 address family in the capturing host's byte order
 *   LOOP:     u32 address family in network byte order
 *   LINUX_SLL (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html):
 *     u16 packet_type; u16 arphrd; u16 addr_len; u8 addr[8]; u16 protocol
 *   LINUX_SLL2: u16 protocol; u16 reserved; u32 ifindex; u16 arphrd;
 *     u8 packet_type; u8 addr_len; u8 addr[8] */
enum td_decode_res td_decode_tcp(struct td_tcp_pkt *out, const struct td_pkt *pkt, struct td_diag *d)
{
    struct td_cur c;
    uint16_t type;
    uint32_t af;

    memset(out, 0, sizeof(*out));
    out->wscale = 0xff;
    td_cur_init(&c, pkt->data, pkt->caplen);

    switch (pkt->linktype) {
    case TD_LINK_ETHERNET:
        if (!td_cur_skip(&c, 12) || !td_cur_get_u16(&c, &type))
            return malformed(d, TD_AN_PKT_TRUNCATED, &c);
        return decode_ethertype(out, &c, type, pkt->origlen, d);
    case TD_LINK_LINUX_SLL:
        if (!td_cur_skip(&c, 14) || !td_cur_get_u16(&c, &type))
            return malformed(d, TD_AN_PKT_TRUNCATED, &c);
        return decode_ethertype(out, &c, type, pkt->origlen, d);
    case TD_LINK_LINUX_SLL2:
        if (td_cur_len(&c) < 20 || !td_cur_get_u16(&c, &type) || !td_cur_skip(&c, 18))
            return malformed(d, TD_AN_PKT_TRUNCATED, &c);
        return decode_ethertype(out, &c, type, pkt->origlen, d);
    case TD_LINK_NULL:
        if (!td_cur_get_u32(&c, &af))
            return malformed(d, TD_AN_PKT_TRUNCATED, &c);
        /* host order of the capturing machine: families are small, so a
         * value with high bits set was written little-endian */
        if ((af & 0xffff0000u) != 0)
            af = bswap32(af);
        return decode_af(out, &c, af, pkt->origlen, d);
    case TD_LINK_LOOP:
        if (!td_cur_get_u32(&c, &af))
            return malformed(d, TD_AN_PKT_TRUNCATED, &c);
        return decode_af(out, &c, af, pkt->origlen, d);
    case TD_LINK_RAW:
    case TD_LINK_IPV4:
    case TD_LINK_IPV6:
    case TD_LINK_DLT_RAW12:
    case TD_LINK_DLT_RAW14:
        return decode_ip(out, &c, pkt->origlen, d);
    default:
        return TD_DEC_UNKNOWN_LINK;
    }
}

bool td_link_supported(uint32_t linktype)
{
    switch (linktype) {
    case TD_LINK_ETHERNET:
    case TD_LINK_LINUX_SLL:
    case TD_LINK_LINUX_SLL2:
    case TD_LINK_NULL:
    case TD_LINK_LOOP:
    case TD_LINK_RAW:
    case TD_LINK_IPV4:
    case TD_LINK_IPV6:
    case TD_LINK_DLT_RAW12:
    case TD_LINK_DLT_RAW14:
        return true;
    default:
        return false;
    }
}
