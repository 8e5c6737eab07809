/* capture.h: packets in (lib/capture).
 *
 * The file reader is our own: libpcap's offline reader refuses pcapng files
 * whose interfaces have different link types, hides pcapng Decryption
 * Secrets Blocks, and cannot report the byte offset of a corrupt block.  It
 * reads pcap (all four magics: us/ns, both byte orders) and pcapng (all
 * sections, per-interface link type and timestamp resolution), gzip'd or
 * not (zlib's inflate), from a file or stdin ("-").  libpcap is
 * still used for what it does well: BPF filters (td_filter) and live
 * capture (td_live). */
#ifndef TLSDIAG_CAPTURE_H
#define TLSDIAG_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdiag/cur.h"
#include "tlsdiag/diag.h"

/* DLT / LINKTYPE values we decode */
enum {
    TD_LINK_NULL = 0,          /* BSD loopback, host byte order AF */
    TD_LINK_ETHERNET = 1,
    TD_LINK_RAW = 101,         /* LINKTYPE_RAW: raw IPv4/IPv6 */
    TD_LINK_LOOP = 108,        /* OpenBSD loopback, network order AF */
    TD_LINK_LINUX_SLL = 113,
    TD_LINK_IPV4 = 228,
    TD_LINK_IPV6 = 229,
    TD_LINK_LINUX_SLL2 = 276,
    TD_LINK_DLT_RAW12 = 12,    /* DLT_RAW on some BSDs */
    TD_LINK_DLT_RAW14 = 14
};

#define TD_MAX_PACKET (256 * 1024) /* larger captured packets are an input error */

/* pcapng timestamps (64-bit, plus if_tsoffset) are clamped into
 * [0, TD_MAX_TS_SEC] seconds so that nanosecond times fit in int64. */
#define TD_MAX_TS_SEC 0xffffffffu

struct td_pkt {
    uint64_t frame;       /* 1-based, as Wireshark counts */
    int64_t ts_sec;       /* 0..TD_MAX_TS_SEC from files */
    uint32_t ts_nsec;
    uint32_t linktype;
    uint32_t ifindex;     /* pcapng interface id, 0 for pcap */
    uint32_t caplen;
    uint32_t origlen;
    const uint8_t *data;  /* caplen bytes, valid until the next call */
    uint64_t file_off;    /* offset of this record in the (decompressed) file */
};

/* Error with the offset where the input went wrong. */
struct td_input_error {
    char msg[256];
    uint64_t off;
    bool decompressed; /* the input is gzip: |off| is in the decompressed data */
};

struct td_reader;

/* td_reader_open opens |path| ("-" for stdin); gzip is detected by magic
 * (concatenated members are read; bytes after a member that are not
 * another one are ignored, as gzread does).  Returns NULL and fills |err|
 * when the file cannot be opened or its header is not pcap/pcapng.  A
 * corrupt or truncated gzip stream is an error of td_reader_next at the
 * decompressed offset where it went wrong, after every packet before it. */
struct td_reader *td_reader_open(const char *path, struct td_input_error *err);
/* td_reader_open_mem reads a whole capture held in memory (|len| bytes at
 * |p|, not gzip'd), borrowed: |p| must outlive the reader and is never
 * written.  For fuzzing and tests.  Error messages never name the input:
 * the caller does (with err->off). */
struct td_reader *td_reader_open_mem(const void *p, size_t len, struct td_input_error *err);

/* Reader caps (lib/capture/reader.c): a packet above TD_MAX_PACKET captured
 * bytes, a pcapng block above 16 MiB, more than 1024 interfaces in a pcapng
 * section are input errors with the offset of the record/block.  Frames are
 * numbered over all packet blocks (EPB, SPB, obsolete PB) of all sections.
 * pcapng timestamps honour if_tsresol (default microseconds) and
 * if_tsoffset; Simple Packet Blocks have no timestamp (0).  */

/* td_reader_next returns 1 with the next packet, 0 at a clean end of file,
 * -1 on bad input (truncated record, wrong block length, jumbo packet...):
 * then td_reader_error tells what and where; packets already returned stay
 * valid facts. */
int td_reader_next(struct td_reader *r, struct td_pkt *pkt);
const struct td_input_error *td_reader_error(const struct td_reader *r);
/* bytes of (decompressed) input consumed so far, for progress */
uint64_t td_reader_offset(const struct td_reader *r);
void td_reader_close(struct td_reader *r);

/* td_reader_set_pool: from now on the reader takes its buffers from |get|
 * (at least |min| bytes; the size in *cap) and, when it needs more input,
 * moves the unread tail to a new one and gives the old one to |put|
 * instead of reusing it: packets handed out stay valid until the pool
 * owner recycles that buffer (`read -j`: the workers read them in place).
 * The buffer in use at td_reader_close goes to |put| too; the one the
 * reader had before this call is the pool's from then on (td_malloc'd). */
typedef uint8_t *(*td_buf_get_fn)(void *ctx, size_t min, size_t *cap);
typedef void (*td_buf_put_fn)(void *ctx, uint8_t *buf);
void td_reader_set_pool(struct td_reader *r, td_buf_get_fn get, td_buf_put_fn put, void *ctx);

/* pcapng Decryption Secrets Block observer (type 0x544c534b = TLS key log).
 * Called during td_reader_next with the secrets payload. */
typedef void (*td_secrets_fn)(void *ctx, uint32_t secrets_type, const uint8_t *data, size_t len);
void td_reader_on_secrets(struct td_reader *r, td_secrets_fn fn, void *ctx);

/* ---- decode: link -> IP -> TCP ---- */

enum { TD_TCP_FIN = 0x01, TD_TCP_SYN = 0x02, TD_TCP_RST = 0x04, TD_TCP_PSH = 0x08,
       TD_TCP_ACK = 0x10, TD_TCP_URG = 0x20, TD_TCP_ECE = 0x40, TD_TCP_CWR = 0x80 };

struct td_tcp_pkt {
    uint8_t ipver;          /* 4 or 6 */
    uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes, rest zero */
    uint8_t ttl;            /* IPv4 TTL or IPv6 hop limit */
    bool has_ipid;
    uint16_t ipid;          /* IPv4 identification */
    uint16_t num_vlans;     /* 802.1Q/QinQ tags passed */
    uint8_t num_tunnels;    /* GTP-U tunnels decapsulated (at most 1) */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;        /* raw, unscaled */
    uint16_t mss;           /* from SYN options, 0 if none */
    uint8_t wscale;         /* from SYN options, 0xff if none */
    uint32_t payload_wire_len; /* TCP payload length per the IP header */
    struct td_cur payload;  /* the captured part of it (may be shorter: snaplen) */
};

enum td_decode_res {
    TD_DEC_TCP,          /* |out| filled */
    TD_DEC_NOT_TCP,      /* IP but not TCP, or not IP: ignore */
    TD_DEC_FRAGMENT,     /* an IP fragment: reported, not reassembled */
    TD_DEC_MALFORMED,    /* headers contradict themselves; anomaly in |d| */
    TD_DEC_UNKNOWN_LINK  /* link type we do not decode */
};

/* td_decode_tcp walks link, VLAN, IPv4 (with options) or IPv6 (with
 * extension headers) and TCP headers of |pkt|.  |out->payload| is a view into
 * pkt->data.  Anomaly offsets are offsets into pkt->data.
 * TD_DEC_TCP may come with anomalies in |d| (documented leniency): an IP
 * length beyond the frame's original length (IP_BAD_HEADER; the frame length
 * is used, as Wireshark does) and bad TCP option framing on a SYN
 * (TCP_BAD_HEADER).  An IP total/payload length of 0 (TCP segmentation
 * offload on the capturing host) means "the captured bytes".  Fragments
 * record IP_FRAGMENT; an IPv6 atomic fragment (RFC 6946) is decoded. */
enum td_decode_res td_decode_tcp(struct td_tcp_pkt *out, const struct td_pkt *pkt, struct td_diag *d);
/* td_decode_ends: for the commonest frame only (Ethernet, IPv4, protocol
 * TCP), the two endpoints read at their fixed offsets, nothing judged: the
 * frame may still be a fragment or malformed to td_decode_tcp, but when it
 * is a TCP segment these are its endpoints.  False for any other frame.
 * `read -j` uses it to tell, for a few instructions, that a packet belongs
 * to another worker's flows. */
struct td_ends {
    uint8_t ipver;
    uint8_t src[16], dst[16]; /* as in td_tcp_pkt */
    uint16_t sport, dport;
};
/* It reads the Ethernet header and the IPv4 header's fixed part as one
 * bounded view of 34 bytes (one length check, fields at their offsets),
 * then the two ports after the options.  Each worker of `read -j` runs it
 * on every packet of the file, so it is inline: out of line (decode.c) the
 * call, the 38-byte struct zeroed on the stack and read back cost a worker
 * that owns none of the packets ~0.06 s per 29.7 M packets (perf). */
static inline bool td_decode_ends(const struct td_pkt *pkt, struct td_ends *e)
{
    struct td_cur c, fix;
    const uint8_t *f;
    size_t hlen;
    uint16_t sport, dport;

    if (pkt->linktype != TD_LINK_ETHERNET)
        return false;
    td_cur_init(&c, pkt->data, pkt->caplen);
    /* Ethernet: dst(6) src(6) type(2); IPv4: vihl(1) tos(1) len(2) id(2)
     * frag(2) ttl(1) proto(1) csum(2) src(4) dst(4) */
    if (!td_cur_get_bytes(&c, &fix, 34))
        return false;
    f = fix.p;
    if (f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4 || f[23] != 6 /* TCP */)
        return false;
    hlen = (size_t)(f[14] & 0x0f) * 4;
    if (hlen < 20 || !td_cur_skip(&c, hlen - 20) || !td_cur_get_u16(&c, &sport) || !td_cur_get_u16(&c, &dport))
        return false;
    memset(e, 0, sizeof(*e));
    e->ipver = 4;
    memcpy(e->src, f + 26, 4);
    memcpy(e->dst, f + 30, 4);
    e->sport = sport;
    e->dport = dport;
    return true;
}

/* td_link_supported: td_decode_tcp decodes this link type (the others give
 * TD_DEC_UNKNOWN_LINK), so a caller can report a file it cannot read. */
bool td_link_supported(uint32_t linktype);

/* ---- BPF filter through libpcap, compiled per link type on first use ---- */
struct td_filter;
/* td_filter_new checks |expr| by compiling it for Ethernet; NULL + |err| on a syntax error. */
struct td_filter *td_filter_new(const char *expr, char *err, size_t err_len);
/* td_filter_match: true when the packet passes (or the filter cannot be
 * compiled for this link type, which is reported once through |err|). */
bool td_filter_match(struct td_filter *f, const struct td_pkt *pkt);
/* td_filter_take_error (addition): the message of a per-link-type compile
 * failure (or of the link-type cache being full, 16 types), returned once
 * after it happened and NULL otherwise, so the caller can report it; the
 * string lives as long as |f|.  lib/ never prints. */
const char *td_filter_take_error(struct td_filter *f);
void td_filter_free(struct td_filter *f);

/* ---- live capture through libpcap ---- */
struct td_live;
struct td_live *td_live_open(const char *iface, const char *filter, int snaplen,
                             struct td_input_error *err);
/* td_live_next: 1 packet, 0 timeout (no packet within ~200 ms), -1 error */
int td_live_next(struct td_live *l, struct td_pkt *pkt);
/* td_live_stats: packets received and dropped by the kernel */
void td_live_stats(struct td_live *l, uint64_t *recv, uint64_t *drop);
/* td_live_error (addition): what went wrong after td_live_next returned -1. */
const struct td_input_error *td_live_error(const struct td_live *l);
void td_live_close(struct td_live *l);

#endif
