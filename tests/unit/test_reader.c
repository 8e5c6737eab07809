/* test_reader.c: lib/capture/reader.c on captures written in memory by
 * tests/lib/pcapw.c, and on real files from ../shared/corpus. */
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

static uint8_t pkt_a[60], pkt_b[1514], pkt_c[100];

static void fill_pkts(void)
{
    for (size_t i = 0; i < sizeof(pkt_a); i++)
        pkt_a[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(pkt_b); i++)
        pkt_b[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof(pkt_c); i++)
        pkt_c[i] = (uint8_t)(0xc0 ^ i);
}

/* open_bytes saves |len| bytes of |w| to a temp file and opens it */
static struct td_reader *open_bytes(const struct pcapw *w, size_t len, bool gz,
                                    struct td_input_error *err)
{
    char *path = pcapw_save(w, len, gz);
    struct td_reader *r = td_reader_open(path, err);
    unlink(path); /* the reader keeps its descriptor */
    free(path);
    return r;
}

static void check_pcap_variant(bool le, bool nsec)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;

    fill_pkts();
    pcapw_init(&w, le);
    pcapw_pcap_hdr(&w, nsec, 1, 65535);
    pcapw_pcap_rec(&w, 1700000000, nsec ? 123456789u : 123456u, pkt_a, sizeof(pkt_a), 60);
    pcapw_pcap_rec(&w, 1700000001, 5, pkt_b, sizeof(pkt_b), 1514);
    /* timestamps going backwards are not an error */
    pcapw_pcap_rec(&w, 1600000000, 0, pkt_c, 40, sizeof(pkt_c));
    r = open_bytes(&w, w.len, false, &err);
    assert_non_null(r);

    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.frame, 1);
    assert_int_equal(p.ts_sec, 1700000000);
    assert_int_equal(p.ts_nsec, nsec ? 123456789u : 123456000u);
    assert_int_equal(p.linktype, 1);
    assert_int_equal(p.ifindex, 0);
    assert_int_equal(p.caplen, 60);
    assert_int_equal(p.origlen, 60);
    assert_int_equal(p.file_off, 24);
    assert_memory_equal(p.data, pkt_a, sizeof(pkt_a));

    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.frame, 2);
    assert_int_equal(p.ts_nsec, nsec ? 5u : 5000u);
    assert_int_equal(p.file_off, 24 + 16 + 60);
    assert_int_equal(p.caplen, 1514);
    assert_memory_equal(p.data, pkt_b, sizeof(pkt_b));

    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.frame, 3);
    assert_int_equal(p.ts_sec, 1600000000);
    assert_int_equal(p.caplen, 40);
    assert_int_equal(p.origlen, 100);
    assert_memory_equal(p.data, pkt_c, 40);

    assert_int_equal(td_reader_next(r, &p), 0);
    assert_int_equal(td_reader_next(r, &p), 0);
    assert_int_equal(td_reader_offset(r), w.len);
    td_reader_close(r);
    pcapw_free(&w);
}

static void test_pcap_us_be(void **state)
{
    (void)state;
    check_pcap_variant(false, false);
}
static void test_pcap_us_le(void **state)
{
    (void)state;
    check_pcap_variant(true, false);
}
static void test_pcap_ns_be(void **state)
{
    (void)state;
    check_pcap_variant(false, true);
}
static void test_pcap_ns_le(void **state)
{
    (void)state;
    check_pcap_variant(true, true);
}

static void test_pcap_empty(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;

    (void)state;
    pcapw_init(&w, true);
    pcapw_pcap_hdr(&w, false, 113, 65535);
    r = open_bytes(&w, w.len, false, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), 0);
    td_reader_close(r);
    pcapw_free(&w);
}

static void test_pcap_gzip(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;

    (void)state;
    fill_pkts();
    pcapw_init(&w, true);
    pcapw_pcap_hdr(&w, false, 1, 65535);
    pcapw_pcap_rec(&w, 1, 2, pkt_b, sizeof(pkt_b), 1514);
    pcapw_pcap_rec(&w, 1, 3, pkt_a, sizeof(pkt_a), 60);
    r = open_bytes(&w, w.len, true, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_memory_equal(p.data, pkt_b, sizeof(pkt_b));
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.frame, 2);
    assert_int_equal(p.file_off, 24 + 16 + 1514); /* offsets are decompressed */
    assert_memory_equal(p.data, pkt_a, sizeof(pkt_a));
    assert_int_equal(td_reader_next(r, &p), 0);
    td_reader_close(r);
    pcapw_free(&w);
}

/* truncated record: the earlier packets stay, then -1 at the record */
static void test_pcap_truncated_record(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;
    size_t third;

    (void)state;
    fill_pkts();
    pcapw_init(&w, true);
    pcapw_pcap_hdr(&w, false, 1, 65535);
    pcapw_pcap_rec(&w, 1, 0, pkt_a, sizeof(pkt_a), 60);
    pcapw_pcap_rec(&w, 2, 0, pkt_b, sizeof(pkt_b), 1514);
    third = w.len;
    pcapw_pcap_rec(&w, 3, 0, pkt_b, sizeof(pkt_b), 1514);
    r = open_bytes(&w, third + 16 + 600, false, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.frame, 2);
    assert_int_equal(td_reader_next(r, &p), -1);
    assert_int_equal(td_reader_error(r)->off, third);
    assert_non_null(strstr(td_reader_error(r)->msg, "truncated packet record (needs 1514 bytes, 600 left)"));
    assert_int_equal(td_reader_next(r, &p), -1); /* sticky */
    td_reader_close(r);

    /* cut inside the 16-byte record header */
    r = open_bytes(&w, third + 5, false, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(td_reader_next(r, &p), -1);
    assert_int_equal(td_reader_error(r)->off, third);
    assert_non_null(strstr(td_reader_error(r)->msg, "needs 16 bytes, 5 left"));
    td_reader_close(r);

    /* the same in a gzip'd file */
    r = open_bytes(&w, third + 16 + 600, true, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(td_reader_next(r, &p), -1);
    assert_int_equal(td_reader_error(r)->off, third);
    td_reader_close(r);
    pcapw_free(&w);
}

static void test_pcap_jumbo(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;
    size_t second;

    (void)state;
    fill_pkts();
    pcapw_init(&w, false);
    pcapw_pcap_hdr(&w, false, 1, 65535);
    pcapw_pcap_rec(&w, 1, 0, pkt_a, sizeof(pkt_a), 60);
    second = w.len;
    pcapw_u32(&w, 1);
    pcapw_u32(&w, 0);
    pcapw_u32(&w, TD_MAX_PACKET + 1);
    pcapw_u32(&w, TD_MAX_PACKET + 1);
    r = open_bytes(&w, w.len, false, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(td_reader_next(r, &p), -1);
    assert_int_equal(td_reader_error(r)->off, second);
    assert_non_null(strstr(td_reader_error(r)->msg, "exceeds the cap"));
    td_reader_close(r);
    pcapw_free(&w);
}

static void test_bad_magic(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;

    (void)state;
    pcapw_init(&w, false);
    pcapw_u32(&w, 0x7f454c46); /* an ELF file */
    pcapw_u32(&w, 0);
    pcapw_u32(&w, 0);
    r = open_bytes(&w, w.len, false, &err);
    assert_null(r);
    assert_non_null(strstr(err.msg, "not a pcap or pcapng file"));
    assert_int_equal(err.off, 0);

    r = open_bytes(&w, 2, false, &err);
    assert_null(r);
    assert_non_null(strstr(err.msg, "too short"));

    r = td_reader_open("/nonexistent/x.pcap", &err);
    assert_null(r);
    assert_non_null(strstr(err.msg, "cannot open"));
    pcapw_free(&w);
}

/* pcapng with two interfaces of different link types and resolutions */
static void check_pcapng_two_ifaces(bool le)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;
    size_t epb2;

    fill_pkts();
    pcapw_init(&w, le);
    pcapw_shb(&w);
    pcapw_idb(&w, 1, 0, -1);      /* Ethernet, default microseconds */
    pcapw_idb(&w, 101, 65535, 9); /* raw IP, nanoseconds */
    pcapw_epb(&w, 0, UINT64_C(1700000000123456), pkt_a, sizeof(pkt_a), 60);
    epb2 = w.len;
    pcapw_epb(&w, 1, UINT64_C(1700000001987654321), pkt_c, 41, sizeof(pkt_c));
    r = open_bytes(&w, w.len, false, &err);
    assert_non_null(r);

    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.frame, 1);
    assert_int_equal(p.linktype, 1);
    assert_int_equal(p.ifindex, 0);
    assert_int_equal(p.ts_sec, 1700000000);
    assert_int_equal(p.ts_nsec, 123456000);
    assert_int_equal(p.caplen, 60);
    assert_memory_equal(p.data, pkt_a, 60);

    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.frame, 2);
    assert_int_equal(p.linktype, 101);
    assert_int_equal(p.ifindex, 1);
    assert_int_equal(p.ts_sec, 1700000001);
    assert_int_equal(p.ts_nsec, 987654321);
    assert_int_equal(p.caplen, 41); /* not a multiple of 4: padded */
    assert_int_equal(p.origlen, 100);
    assert_int_equal(p.file_off, epb2);
    assert_memory_equal(p.data, pkt_c, 41);
    assert_int_equal(td_reader_next(r, &p), 0);
    td_reader_close(r);
    pcapw_free(&w);
}

static void test_pcapng_two_ifaces_le(void **state)
{
    (void)state;
    check_pcapng_two_ifaces(true);
}
static void test_pcapng_two_ifaces_be(void **state)
{
    (void)state;
    check_pcapng_two_ifaces(false);
}

static void test_pcapng_tsresol_pow2(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;

    (void)state;
    fill_pkts();
    pcapw_init(&w, true);
    pcapw_shb(&w);
    pcapw_idb(&w, 1, 0, 0x80 | 10); /* 1/1024 s */
    pcapw_epb(&w, 0, 2 * 1024 + 512, pkt_a, 60, 60);
    r = open_bytes(&w, w.len, false, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.ts_sec, 2);
    assert_int_equal(p.ts_nsec, 500000000);
    td_reader_close(r);
    pcapw_free(&w);
}

static void test_pcapng_spb_and_sections(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;

    (void)state;
    fill_pkts();
    pcapw_init(&w, true);
    pcapw_shb(&w);
    pcapw_idb(&w, 1, 64, -1);
    pcapw_spb(&w, sizeof(pkt_c), pkt_c, sizeof(pkt_c));
    /* an unknown block is skipped */
    {
        size_t b = pcapw_block_begin(&w, 0x00000bad);
        pcapw_u32(&w, 42);
        pcapw_block_end(&w, b);
    }
    /* second section, other byte order: interfaces start again */
    w.le = false;
    pcapw_shb(&w);
    pcapw_idb(&w, 113, 0, -1);
    pcapw_epb(&w, 0, 1000000, pkt_a, 60, 60);
    r = open_bytes(&w, w.len, false, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.frame, 1);
    assert_int_equal(p.caplen, 64); /* snaplen of interface 0 */
    assert_int_equal(p.origlen, 100);
    assert_memory_equal(p.data, pkt_c, 64);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(p.frame, 2);
    assert_int_equal(p.linktype, 113);
    assert_int_equal(p.ts_sec, 1);
    assert_int_equal(td_reader_next(r, &p), 0);
    td_reader_close(r);
    pcapw_free(&w);
}

struct secrets_seen {
    int calls;
    uint32_t type;
    char data[64];
    size_t len;
};

static void on_secrets(void *ctx, uint32_t type, const uint8_t *data, size_t len)
{
    struct secrets_seen *s = ctx;
    s->calls++;
    s->type = type;
    s->len = len;
    if (len < sizeof(s->data))
        memcpy(s->data, data, len);
}

static void test_pcapng_dsb(void **state)
{
    static const char keylog[] = "CLIENT_RANDOM 00 11\n";
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;
    struct secrets_seen seen = {0};

    (void)state;
    fill_pkts();
    pcapw_init(&w, true);
    pcapw_shb(&w);
    pcapw_idb(&w, 1, 0, -1);
    pcapw_dsb(&w, 0x544c534b, (const uint8_t *)keylog, (uint32_t)strlen(keylog));
    pcapw_epb(&w, 0, 1, pkt_a, 60, 60);
    r = open_bytes(&w, w.len, false, &err);
    assert_non_null(r);
    td_reader_on_secrets(r, on_secrets, &seen);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.type, 0x544c534b);
    assert_int_equal(seen.len, strlen(keylog));
    assert_memory_equal(seen.data, keylog, strlen(keylog));
    assert_int_equal(p.frame, 1);
    assert_int_equal(td_reader_next(r, &p), 0);
    td_reader_close(r);
    pcapw_free(&w);
}

/* corrupt framing: trailing length, length not a multiple of 4, too small,
 * too large, unknown interface, captured length past the block */
static void test_pcapng_bad_blocks(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;
    size_t epb;

    (void)state;
    fill_pkts();
    for (int kase = 0; kase < 7; kase++) {
        size_t cut;
        uint64_t want_off;
        const char *want;

        pcapw_init(&w, true);
        pcapw_shb(&w);
        pcapw_idb(&w, 1, 0, -1);
        pcapw_epb(&w, 0, 1, pkt_a, 60, 60);
        epb = w.len;
        pcapw_epb(&w, 0, 2, pkt_a, 60, 60);
        cut = w.len;
        want_off = epb;
        switch (kase) {
        case 0: /* trailing copy differs */
            w.buf[w.len - 4] ^= 0x04;
            want_off = w.len - 4;
            want = "trailing block length";
            break;
        case 1: /* not a multiple of 4 */
            w.buf[epb + 4] = (uint8_t)(w.buf[epb + 4] + 1);
            want_off = epb + 4;
            want = "bad block total length";
            break;
        case 2: /* below 12 */
            memset(w.buf + epb + 4, 0, 4);
            w.buf[epb + 4] = 8;
            want_off = epb + 4;
            want = "bad block total length";
            break;
        case 3: /* above the block cap */
            memset(w.buf + epb + 4, 0, 4);
            w.buf[epb + 7] = 0x02; /* 32 MiB */
            want_off = epb + 4;
            want = "exceeds the cap";
            break;
        case 4: /* interface 5 does not exist */
            w.buf[epb + 8] = 5;
            want = "interface 5";
            break;
        case 5: /* captured length past the block */
            w.buf[epb + 20] = 200;
            want = "overruns its block";
            break;
        default: /* block cut short */
            cut = w.len - 10;
            want = "truncated block";
            break;
        }
        r = open_bytes(&w, cut, false, &err);
        assert_non_null(r);
        assert_int_equal(td_reader_next(r, &p), 1);
        assert_int_equal(td_reader_next(r, &p), -1);
        assert_int_equal(td_reader_error(r)->off, want_off);
        if (strstr(td_reader_error(r)->msg, want) == NULL)
            fail_msg("case %d: \"%s\" lacks \"%s\"", kase, td_reader_error(r)->msg, want);
        td_reader_close(r);
        pcapw_free(&w);
    }
}

static void test_pcapng_jumbo_packet(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;
    uint8_t *big = calloc(1, TD_MAX_PACKET + 4);
    size_t epb;

    (void)state;
    assert_non_null(big);
    pcapw_init(&w, true);
    pcapw_shb(&w);
    pcapw_idb(&w, 1, 0, -1);
    epb = w.len;
    pcapw_epb(&w, 0, 1, big, TD_MAX_PACKET + 4, TD_MAX_PACKET + 4);
    pcapw_epb(&w, 0, 1, big, 60, 60);
    r = open_bytes(&w, w.len, false, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), -1);
    assert_int_equal(td_reader_error(r)->off, epb);
    assert_non_null(strstr(td_reader_error(r)->msg, "exceeds the cap"));
    td_reader_close(r);
    pcapw_free(&w);
    free(big);
}

/* more than one buffer's worth: records straddle refills */
static void test_many_packets(void **state)
{
    struct pcapw w;
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;
    uint64_t n = 0;
    int rc;

    (void)state;
    fill_pkts();
    for (int gz = 0; gz < 2; gz++) {
        pcapw_init(&w, true);
        pcapw_shb(&w);
        pcapw_idb(&w, 1, 0, -1);
        for (uint32_t i = 0; i < 3000; i++) {
            pkt_b[0] = (uint8_t)i;
            pcapw_epb(&w, 0, i, pkt_b, 1000 + i % 514, 1514);
        }
        r = open_bytes(&w, w.len, gz != 0, &err);
        assert_non_null(r);
        n = 0;
        while ((rc = td_reader_next(r, &p)) == 1) {
            assert_int_equal(p.frame, n + 1);
            assert_int_equal(p.caplen, 1000 + n % 514);
            assert_int_equal(p.data[0], (uint8_t)n);
            assert_int_equal(p.data[p.caplen - 1], pkt_b[p.caplen - 1]);
            n++;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(n, 3000);
        assert_int_equal(td_reader_offset(r), w.len);
        td_reader_close(r);
        pcapw_free(&w);
    }
}

/* ---- real files: counts and last timestamps as tshark 4.x reports them ---- */
struct real_file {
    const char *path;
    uint64_t frames;
    int64_t last_sec;
    uint32_t last_nsec;
};

static const struct real_file real_files[] = {
    {"corpus/zeek/tls1.2.pcap", 22, 1357328851, 807191000},
    {"corpus/ja4/ipv6.pcapng", 9, 1593980608, 696428000},
    {"corpus/ndpi/tls_heur__shadowsocks-tcp.pcapng", 100, 1725100298, 432922216},
    {"corpus/ja4/tls-handshake.pcapng", 193, 1675707173, 286424000},
    {"corpus/zeek/tls-fragmented-handshake.pcap.gz", 416, 1426117218, 286833000},
};

static const char *shared_dir(void)
{
    const char *s = getenv("TD_SHARED");
    return s != NULL ? s : "../shared";
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
        uint64_t n = 0;
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
        while ((rc = td_reader_next(r, &p)) == 1)
            n++;
        assert_int_equal(rc, 0);
        assert_int_equal(n, f->frames);
        assert_int_equal(p.frame, f->frames);
        assert_int_equal(p.ts_sec, f->last_sec);
        assert_int_equal(p.ts_nsec, f->last_nsec);
        td_reader_close(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcap_us_be),
        cmocka_unit_test(test_pcap_us_le),
        cmocka_unit_test(test_pcap_ns_be),
        cmocka_unit_test(test_pcap_ns_le),
        cmocka_unit_test(test_pcap_empty),
        cmocka_unit_test(test_pcap_gzip),
        cmocka_unit_test(test_pcap_truncated_record),
        cmocka_unit_test(test_pcap_jumbo),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_pcapng_two_ifaces_le),
        cmocka_unit_test(test_pcapng_two_ifaces_be),
        cmocka_unit_test(test_pcapng_tsresol_pow2),
        cmocka_unit_test(test_pcapng_spb_and_sections),
        cmocka_unit_test(test_pcapng_dsb),
        cmocka_unit_test(test_pcapng_bad_blocks),
        cmocka_unit_test(test_pcapng_jumbo_packet),
        cmocka_unit_test(test_many_packets),
        cmocka_unit_test(test_real_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
