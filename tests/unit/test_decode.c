/* test_decode.c: lib/capture/decode.c on packets built with tests/lib/pcapw
 * and on real files (TCP frame counts, payload sums and SYN options as
 * tshark reports them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcapw.h"
#include "tlsdiag/capture.h"

struct dec {
    struct td_tcp_pkt t;
    struct td_diag d;
    enum td_decode_res res;
};

static void decode_len(struct dec *x, const struct pktb *b, uint32_t linktype, size_t caplen,
                       size_t origlen)
{
    struct td_pkt p;

    memset(&p, 0, sizeof(p));
    memset(x, 0, sizeof(*x));
    p.linktype = linktype;
    p.data = b->b;
    p.caplen = (uint32_t)caplen;
    p.origlen = (uint32_t)origlen;
    x->res = td_decode_tcp(&x->t, &p, &x->d);
    /* invariants: views inside the packet, status agrees with anomalies */
    assert_true(x->t.payload.off + td_cur_len(&x->t.payload) <= caplen);
    if (x->res == TD_DEC_MALFORMED)
        assert_true(x->d.n > 0);
    for (uint32_t i = 0; i < x->d.n; i++)
        assert_true(x->d.recs[i].off <= caplen);
}

static void decode(struct dec *x, const struct pktb *b, uint32_t linktype)
{
    decode_len(x, b, linktype, b->n, b->n);
}

static void check_basic_tcp(const struct dec *x, uint8_t ipver, size_t payload, size_t payload_off)
{
    assert_int_equal(x->res, TD_DEC_TCP);
    assert_int_equal(x->d.n, 0);
    assert_int_equal(x->t.ipver, ipver);
    assert_int_equal(x->t.sport, 40000);
    assert_int_equal(x->t.dport, 443);
    assert_int_equal(x->t.seq, 1000);
    assert_int_equal(x->t.ack, 2000);
    assert_int_equal(x->t.window, 512);
    assert_int_equal(x->t.payload_wire_len, payload);
    assert_int_equal(td_cur_len(&x->t.payload), payload);
    assert_int_equal(x->t.payload.off, payload_off);
    if (ipver == 4) {
        static const uint8_t src[16] = {10, 0, 0, 1};
        assert_memory_equal(x->t.src, src, 16);
        assert_int_equal(x->t.ttl, 64);
        assert_true(x->t.has_ipid);
        assert_int_equal(x->t.ipid, 0x1234);
    } else {
        assert_int_equal(x->t.src[0], 0x20);
        assert_int_equal(x->t.dst[15], 2);
        assert_int_equal(x->t.ttl, 63);
        assert_false(x->t.has_ipid);
    }
}

static void test_ethernet_ipv4(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth_ipv4_tcp(&b, TD_TCP_ACK | TD_TCP_PSH, 100);
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 4, 100, 54);
    assert_int_equal(x.t.flags, TD_TCP_ACK | TD_TCP_PSH);
    assert_int_equal(x.t.mss, 0);
    assert_int_equal(x.t.wscale, 0xff);
    assert_int_equal(x.t.num_vlans, 0);
}

static void test_ethernet_padding_trimmed(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth_ipv4_tcp(&b, TD_TCP_ACK, 0);
    pb_zero(&b, 6); /* padded to the 60-byte minimum */
    assert_int_equal(b.n, 60);
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 4, 0, 54);
}

static void test_syn_options(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, 48, 6, 0x4000, 0);
    pb_tcp(&b, TD_TCP_SYN, true);
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 4, 0, 62);
    assert_int_equal(x.t.mss, 1460);
    assert_int_equal(x.t.wscale, 7);

    /* option length running past the header: recorded, segment kept */
    b.b[14 + 20 + 20 + 1] = 40;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_TCP);
    assert_true(td_diag_has(&x.d, TD_AN_TCP_BAD_HEADER));
}

static void test_vlan_qinq(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth(&b, 0x8100);
    pb_u16(&b, 100);
    pb_u16(&b, 0x0800);
    pb_ipv4(&b, 40, 6, 0, 0);
    pb_tcp(&b, TD_TCP_ACK, false);
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 4, 0, 58);
    assert_int_equal(x.t.num_vlans, 1);

    b.n = 0;
    pb_eth(&b, 0x88a8);
    pb_u16(&b, 10);
    pb_u16(&b, 0x8100);
    pb_u16(&b, 20);
    pb_u16(&b, 0x86dd);
    pb_ipv6(&b, 20, 6);
    pb_tcp(&b, TD_TCP_ACK, false);
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 6, 0, 82);
    assert_int_equal(x.t.num_vlans, 2);

    /* tag cut short */
    decode_len(&x, &b, TD_LINK_ETHERNET, 16, b.n);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_true(td_diag_has(&x.d, TD_AN_PKT_TRUNCATED));
}

static void test_sll_sll2(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_u16(&b, 0);     /* packet type */
    pb_u16(&b, 1);     /* ARPHRD_ETHER */
    pb_u16(&b, 6);     /* address length */
    pb_zero(&b, 8);    /* address */
    pb_u16(&b, 0x0800);
    pb_ipv4(&b, 45, 6, 0, 0);
    pb_tcp(&b, TD_TCP_ACK, false);
    pb_zero(&b, 5);
    decode(&x, &b, TD_LINK_LINUX_SLL);
    check_basic_tcp(&x, 4, 5, 56);

    b.n = 0;
    pb_u16(&b, 0x86dd); /* protocol */
    pb_u16(&b, 0);
    pb_u32(&b, 3);      /* ifindex */
    pb_u16(&b, 1);
    pb_u8(&b, 4);
    pb_u8(&b, 6);
    pb_zero(&b, 8);
    pb_ipv6(&b, 20, 6);
    pb_tcp(&b, TD_TCP_ACK, false);
    decode(&x, &b, TD_LINK_LINUX_SLL2);
    check_basic_tcp(&x, 6, 0, 80);

    decode_len(&x, &b, TD_LINK_LINUX_SLL2, 19, b.n);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
}

static void test_null_loop_raw(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    /* NULL, little-endian host, AF_INET */
    pb_u32(&b, 0x02000000);
    pb_ipv4(&b, 40, 6, 0, 0);
    pb_tcp(&b, TD_TCP_ACK, false);
    decode(&x, &b, TD_LINK_NULL);
    check_basic_tcp(&x, 4, 0, 44);

    /* NULL, big-endian host, AF_INET6 as on macOS (30) */
    b.n = 0;
    pb_u32(&b, 30);
    pb_ipv6(&b, 20, 6);
    pb_tcp(&b, TD_TCP_ACK, false);
    decode(&x, &b, TD_LINK_NULL);
    check_basic_tcp(&x, 6, 0, 64);

    /* LOOP: network order, FreeBSD's 28 */
    b.b[3] = 28;
    decode(&x, &b, TD_LINK_LOOP);
    check_basic_tcp(&x, 6, 0, 64);
    b.b[3] = 99; /* unknown family */
    decode(&x, &b, TD_LINK_LOOP);
    assert_int_equal(x.res, TD_DEC_NOT_TCP);

    /* raw IP under every raw link type number */
    b.n = 0;
    pb_ipv4(&b, 43, 6, 0, 0);
    pb_tcp(&b, TD_TCP_ACK, false);
    pb_zero(&b, 3);
    {
        static const uint32_t raws[] = {TD_LINK_RAW, TD_LINK_IPV4, TD_LINK_DLT_RAW12,
                                        TD_LINK_DLT_RAW14};
        for (size_t i = 0; i < 4; i++) {
            decode(&x, &b, raws[i]);
            check_basic_tcp(&x, 4, 3, 40);
        }
    }
    b.n = 0;
    pb_ipv6(&b, 20, 6);
    pb_tcp(&b, TD_TCP_ACK, false);
    decode(&x, &b, TD_LINK_IPV6);
    check_basic_tcp(&x, 6, 0, 60);
}

static void test_ipv4_options(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, 24 + 20 + 7, 6, 0, 4);
    pb_tcp(&b, TD_TCP_ACK, false);
    pb_zero(&b, 7);
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 4, 7, 58);
}

static void test_ipv4_fragment(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, 40, 6, 0x2000, 0); /* MF */
    pb_tcp(&b, TD_TCP_ACK, false);
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_FRAGMENT);
    assert_true(td_diag_has(&x.d, TD_AN_IP_FRAGMENT));
    assert_int_equal(x.d.recs[0].off, 14);
    assert_int_equal(x.t.ipid, 0x1234);
    assert_int_equal(x.t.src[0], 10);

    b.b[14 + 6] = 0x00; /* offset 8 bytes, MF clear: last fragment */
    b.b[14 + 7] = 0x01;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_FRAGMENT);

    b.b[14 + 6] = 0x40; /* DF only: not a fragment */
    b.b[14 + 7] = 0x00;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_TCP);
}

static void test_ipv4_bad_headers(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth_ipv4_tcp(&b, TD_TCP_ACK, 10);

    b.b[14] = 0x44; /* IHL 4 */
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_int_equal(x.d.recs[0].code, TD_AN_IP_BAD_HEADER);
    assert_int_equal(x.d.recs[0].off, 14);
    b.b[14] = 0x45;

    b.b[16] = 0; /* total length 19 < header */
    b.b[17] = 19;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_int_equal(x.d.recs[0].code, TD_AN_IP_BAD_HEADER);
    assert_int_equal(x.d.recs[0].off, 16);

    b.b[17] = 0; /* total length 0 (TSO): the captured bytes are the datagram */
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 4, 10, 54);

    b.b[16] = 0x10; /* 4106: more than the frame carried */
    b.b[17] = 0x0a;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_TCP);
    assert_true(td_diag_has(&x.d, TD_AN_IP_BAD_HEADER));
    assert_int_equal(x.t.payload_wire_len, 10);

    /* ...but not when the frame was longer than the snaplen */
    decode_len(&x, &b, TD_LINK_ETHERNET, b.n, 14 + 4106);
    assert_int_equal(x.res, TD_DEC_TCP);
    assert_int_equal(x.d.n, 0);
    assert_int_equal(x.t.payload_wire_len, 4106 - 40);
    assert_int_equal(td_cur_len(&x.t.payload), 10);

    /* IP header cut by the snaplen */
    decode_len(&x, &b, TD_LINK_ETHERNET, 30, 100);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_int_equal(x.d.recs[0].code, TD_AN_PKT_TRUNCATED);

    /* UDP is not TCP */
    b.b[14 + 9] = 17;
    b.b[16] = 0;
    b.b[17] = 50;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_NOT_TCP);
}

static void test_tcp_bad_headers(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth_ipv4_tcp(&b, TD_TCP_ACK, 10);

    /* snaplen cuts the TCP header */
    decode_len(&x, &b, TD_LINK_ETHERNET, 14 + 20 + 12, b.n);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_int_equal(x.d.recs[0].code, TD_AN_PKT_TRUNCATED);
    assert_int_equal(x.d.recs[0].off, 34);

    /* snaplen cuts the payload: the view is shorter than the wire length */
    decode_len(&x, &b, TD_LINK_ETHERNET, 14 + 20 + 20 + 4, b.n);
    assert_int_equal(x.res, TD_DEC_TCP);
    assert_int_equal(x.t.payload_wire_len, 10);
    assert_int_equal(td_cur_len(&x.t.payload), 4);

    /* data offset 4 words */
    b.b[14 + 20 + 12] = 0x40;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_int_equal(x.d.recs[0].code, TD_AN_TCP_BAD_HEADER);
    assert_int_equal(x.d.recs[0].off, 46);

    /* data offset beyond the IP payload */
    b.b[14 + 20 + 12] = 0xf0;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_int_equal(x.d.recs[0].code, TD_AN_TCP_BAD_HEADER);

    /* IP says the segment is shorter than a TCP header */
    b.b[14 + 20 + 12] = 0x50;
    b.b[17] = 30;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_int_equal(x.d.recs[0].code, TD_AN_TCP_BAD_HEADER);
}

static void test_ipv6_ext_headers(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, 8 + 16 + 20 + 3, 0); /* hop-by-hop */
    pb_u8(&b, 60);                     /* -> destination options */
    pb_u8(&b, 0);
    pb_zero(&b, 6);
    pb_u8(&b, 6); /* -> TCP */
    pb_u8(&b, 1); /* 16 bytes */
    pb_zero(&b, 14);
    pb_tcp(&b, TD_TCP_ACK, false);
    pb_zero(&b, 3);
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 6, 3, 14 + 40 + 24 + 20);

    /* extension header longer than the payload */
    b.b[14 + 40 + 8 + 1] = 9;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_int_equal(x.d.recs[0].code, TD_AN_IP_BAD_HEADER);

    /* ESP: not ours */
    b.b[14 + 40 + 8] = 50;
    b.b[14 + 40 + 8 + 1] = 1;
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_NOT_TCP);
}

static void test_ipv6_fragment(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, 8 + 20, 44);
    pb_u8(&b, 6);
    pb_u8(&b, 0);
    pb_u16(&b, 0x0001); /* offset 0, M set */
    pb_u32(&b, 0xabcd);
    pb_tcp(&b, TD_TCP_ACK, false);
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_FRAGMENT);
    assert_true(td_diag_has(&x.d, TD_AN_IP_FRAGMENT));

    b.b[14 + 40 + 3] = 0x00; /* atomic fragment (RFC 6946): a whole packet */
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 6, 0, 14 + 40 + 8 + 20);

    b.b[14 + 40 + 2] = 0x01; /* non-zero offset */
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_FRAGMENT);
}

static void test_not_tcp_and_unknown(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    pb_eth(&b, 0x0806); /* ARP */
    pb_zero(&b, 28);
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_NOT_TCP);
    decode(&x, &b, 127); /* radiotap */
    assert_int_equal(x.res, TD_DEC_UNKNOWN_LINK);
    decode_len(&x, &b, TD_LINK_ETHERNET, 10, 10);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
    assert_int_equal(x.d.recs[0].code, TD_AN_PKT_TRUNCATED);
    decode_len(&x, &b, TD_LINK_RAW, 0, 0);
    assert_int_equal(x.res, TD_DEC_MALFORMED);
}

/* GTP-U (TS 29.281) on UDP 2152: the inner TCP is the flow; an extension
 * header chain is walked; echo messages and a second tunnel level are not. */
static void gtpu_packet(struct pktb *b, uint8_t flags, uint8_t type, bool ext, bool nested)
{
    uint16_t inner = (uint16_t)(20 + 20 + 10);
    uint16_t glen = (uint16_t)(inner + (ext ? 8 : 0) + (nested ? 36 : 0));
    pb_eth(b, 0x0800);
    pb_ipv4(b, (uint16_t)(20 + 8 + 8 + glen), 17, 0, 0);
    pb_u16(b, 40001);
    pb_u16(b, 2152);
    pb_u16(b, (uint16_t)(8 + 8 + glen));
    pb_u16(b, 0);
    pb_u8(b, flags);
    pb_u8(b, type);
    pb_u16(b, glen);
    pb_u32(b, 0x01020304);
    if (ext) {
        pb_u16(b, 7);   /* sequence */
        pb_u8(b, 0);    /* N-PDU */
        pb_u8(b, 0x85); /* next: PDU session container */
        pb_u8(b, 1);    /* 4 octets */
        pb_u8(b, 0x10);
        pb_u8(b, 0x09);
        pb_u8(b, 0);    /* no further extension */
    }
    if (nested) {
        pb_ipv4(b, (uint16_t)(20 + 8 + 8 + inner), 17, 0, 0);
        pb_u16(b, 2152);
        pb_u16(b, 2152);
        pb_u16(b, (uint16_t)(8 + 8 + inner));
        pb_u16(b, 0);
        pb_u8(b, 0x30);
        pb_u8(b, 0xff);
        pb_u16(b, inner);
        pb_u32(b, 5);
    }
    pb_ipv4(b, inner, 6, 0, 0);
    pb_tcp(b, TD_TCP_ACK | TD_TCP_PSH, false);
    pb_zero(b, 10);
}

static void test_gtpu(void **state)
{
    struct pktb b = {0};
    struct dec x;

    (void)state;
    gtpu_packet(&b, 0x30, 0xff, false, false);
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 4, 10, 14 + 20 + 8 + 8 + 40);
    assert_int_equal(x.t.num_tunnels, 1);

    b.n = 0;
    gtpu_packet(&b, 0x34, 0xff, true, false);
    decode(&x, &b, TD_LINK_ETHERNET);
    check_basic_tcp(&x, 4, 10, 14 + 20 + 8 + 16 + 40);

    b.n = 0;
    gtpu_packet(&b, 0x30, 0x01, false, false); /* echo request */
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_NOT_TCP);

    b.n = 0;
    gtpu_packet(&b, 0x30, 0xff, false, true); /* GTP in GTP */
    decode(&x, &b, TD_LINK_ETHERNET);
    assert_int_equal(x.res, TD_DEC_NOT_TCP);

    b.n = 0;
    gtpu_packet(&b, 0x34, 0xff, true, false);
    decode_len(&x, &b, TD_LINK_ETHERNET, 14 + 20 + 8 + 13, b.n); /* cut in the extension */
    assert_int_equal(x.res, TD_DEC_NOT_TCP);
}

/* ---- real files against tshark ----
 * tshark -r F -Y tcp -T fields -e tcp.len   (count, sum)
 * tshark -r F -Y 'tcp.flags.syn==1' -T fields -e tcp.options.mss_val
 *        -e tcp.options.wscale.shift        (first SYN) */
struct real_file {
    const char *path;
    uint64_t tcp_frames;
    uint64_t tcp_len_sum;
    uint16_t mss;
    uint8_t wscale;
};

static const struct real_file real_files[] = {
    {"corpus/zeek/tls1.2.pcap", 22, 6749, 1460, 4},                    /* Ethernet */
    {"corpus/ja4/ipv6.pcapng", 9, 3047, 1346, 6},                      /* NULL, IPv6 */
    {"corpus/ndpi/tls_heur__shadowsocks-tcp.pcapng", 96, 73005, 65495, 7}, /* SLL */
    {"corpus/ja4/tls-handshake.pcapng", 153, 132134, 0, 0xff},         /* no SYN */
    {"corpus/zeek/tls-fragmented-handshake.pcap.gz", 416, 340365, 1460, 5},
};

static const char *shared_dir(void)
{
    const char *s = getenv("TD_SHARED");
    return s != NULL ? s : "../shared";
}

/* ends_agree: td_decode_ends on the first |caplen| bytes; when it tells
 * endpoints they are td_decode_tcp's (read -j sends each packet to the
 * worker they name) */
static bool ends_agree(const struct pktb *b, uint32_t linktype, size_t caplen)
{
    struct td_pkt p;
    struct td_ends e;
    struct dec x;

    memset(&p, 0, sizeof(p));
    p.linktype = linktype;
    p.data = b->b;
    p.caplen = (uint32_t)caplen;
    p.origlen = (uint32_t)b->n;
    if (!td_decode_ends(&p, &e))
        return false;
    decode_len(&x, b, linktype, caplen, b->n);
    if (x.res == TD_DEC_TCP) {
        assert_int_equal(e.ipver, x.t.ipver);
        assert_memory_equal(e.src, x.t.src, 16);
        assert_memory_equal(e.dst, x.t.dst, 16);
        assert_int_equal(e.sport, x.t.sport);
        assert_int_equal(e.dport, x.t.dport);
    }
    return true;
}

/* td_decode_ends: Ethernet/IPv4/TCP only, with or without IPv4 options;
 * never past the captured bytes (every cut of the frame, under ASan);
 * anything else is left to the full decode (false) */
static void test_decode_ends(void **state)
{
    struct pktb b = {0}, o = {0}, v = {0}, u = {0};

    (void)state;
    pb_eth_ipv4_tcp(&b, TD_TCP_ACK, 10);
    assert_true(ends_agree(&b, TD_LINK_ETHERNET, b.n));
    for (size_t n = 0; n < 38; n++) /* 14 + 20 + the two ports */
        assert_false(ends_agree(&b, TD_LINK_ETHERNET, n));
    assert_true(ends_agree(&b, TD_LINK_ETHERNET, 38));
    assert_false(ends_agree(&b, TD_LINK_RAW, b.n));
    pb_eth(&o, 0x0800);
    pb_ipv4(&o, 24 + 20, 6, 0, 4); /* 4 bytes of options: the ports move */
    pb_tcp(&o, TD_TCP_ACK, false);
    assert_true(ends_agree(&o, TD_LINK_ETHERNET, o.n));
    assert_false(ends_agree(&o, TD_LINK_ETHERNET, 41));
    assert_true(ends_agree(&o, TD_LINK_ETHERNET, 42));
    pb_eth(&v, 0x8100); /* VLAN: the full decode's */
    pb_u16(&v, 7);
    pb_u16(&v, 0x0800);
    pb_ipv4(&v, 40, 6, 0, 0);
    pb_tcp(&v, TD_TCP_ACK, false);
    assert_false(ends_agree(&v, TD_LINK_ETHERNET, v.n));
    pb_eth(&u, 0x0800);
    pb_ipv4(&u, 28, 17, 0, 0); /* UDP */
    pb_zero(&u, 8);
    assert_false(ends_agree(&u, TD_LINK_ETHERNET, u.n));
}

static void test_real_files(void **state)
{
    char path[1024];

    (void)state;
    for (size_t i = 0; i < sizeof(real_files) / sizeof(real_files[0]); i++) {
        const struct real_file *f = &real_files[i];
        struct td_input_error err;
        struct td_reader *r;
        struct td_pkt p;
        uint64_t n = 0, sum = 0;
        uint16_t mss = 0;
        uint8_t ws = 0xff;
        bool seen_syn = false;
        int rc;

        snprintf(path, sizeof(path), "%s/%s", shared_dir(), f->path);
        if (access(path, R_OK) != 0) {
            /* no ../shared at all: skipped, and cmocka says so; a shared
             * directory without this file is a corpus that changed */
            if (access(shared_dir(), R_OK) != 0) {
                print_message("%s not found (set TD_SHARED): skipped\n", shared_dir());
                skip();
            }
            fail_msg("%s: not found, but %s exists", path, shared_dir());
        }
        r = td_reader_open(path, &err);
        if (r == NULL)
            fail_msg("%s: %s", path, err.msg);
        while ((rc = td_reader_next(r, &p)) == 1) {
            struct td_tcp_pkt t;
            struct td_diag d = {0};
            struct td_ends e;
            bool ends = td_decode_ends(&p, &e);
            if (td_decode_tcp(&t, &p, &d) != TD_DEC_TCP)
                continue;
            if (ends) { /* what read -j shards by is the full decode's */
                assert_memory_equal(e.src, t.src, 16);
                assert_memory_equal(e.dst, t.dst, 16);
                assert_true(e.sport == t.sport && e.dport == t.dport);
            }
            n++;
            sum += t.payload_wire_len;
            if ((t.flags & TD_TCP_SYN) && !seen_syn) {
                seen_syn = true;
                mss = t.mss;
                ws = t.wscale;
            }
        }
        assert_int_equal(rc, 0);
        if (n != f->tcp_frames || sum != f->tcp_len_sum)
            fail_msg("%s: %llu TCP frames, %llu bytes; tshark: %llu, %llu", path,
                     (unsigned long long)n, (unsigned long long)sum,
                     (unsigned long long)f->tcp_frames, (unsigned long long)f->tcp_len_sum);
        assert_int_equal(mss, f->mss);
        assert_int_equal(ws, f->wscale);
        td_reader_close(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_ipv4),
        cmocka_unit_test(test_decode_ends),
        cmocka_unit_test(test_ethernet_padding_trimmed),
        cmocka_unit_test(test_syn_options),
        cmocka_unit_test(test_vlan_qinq),
        cmocka_unit_test(test_sll_sll2),
        cmocka_unit_test(test_null_loop_raw),
        cmocka_unit_test(test_ipv4_options),
        cmocka_unit_test(test_ipv4_fragment),
        cmocka_unit_test(test_ipv4_bad_headers),
        cmocka_unit_test(test_tcp_bad_headers),
        cmocka_unit_test(test_ipv6_ext_headers),
        cmocka_unit_test(test_ipv6_fragment),
        cmocka_unit_test(test_not_tcp_and_unknown),
        cmocka_unit_test(test_gtpu),
        cmocka_unit_test(test_real_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
