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
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

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
    assert_false(td_reader_error(r)->decompressed);
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

    /* the same in a gzip'd file: the offset is in the decompressed data */
    r = open_bytes(&w, third + 16 + 600, true, &err);
    assert_non_null(r);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(td_reader_next(r, &p), 1);
    assert_int_equal(td_reader_next(r, &p), -1);
    assert_int_equal(td_reader_error(r)->off, third);
    assert_true(td_reader_error(r)->decompressed);
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

/* ---- damaged gzip: every packet inflated before the damage, then the
 * error at its offset in the decompressed data (zlib's gzread dropped all
 * it had inflated in the call that met the error: up to 1 MiB) ---- */

/* gz_pkt: packet |i|'s bytes, pseudo-random (so that deflate cannot
 * shrink them much: the compressed input takes several reads too) */
static void gz_pkt(uint32_t i, uint8_t *b, uint32_t len)
{
    uint32_t x = i * 2654435761u + 1;

    for (uint32_t k = 0; k < len; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[k] = (uint8_t)x;
    }
}

/* gz_damaged: GZ_PKTS EPBs (about 3.8 MB), then a gzip file of them: two members split at the
 * start of packet |split| (0: one member); |bad_block|: a deflate block of
 * the reserved type 3 at that point instead; |trunc_pct|: the file cut to
 * that percentage of its bytes (0: whole); |crc|: the last member's CRC-32 flipped; |tail|:
 * bytes after the gzip data.  Returns the temp path; *offs gets each
 * packet's offset, *total the decompressed length. */
struct gz_spec {
    unsigned split;
    bool bad_block, crc;
    unsigned trunc_pct;
    const char *tail;
};

#define GZ_PKTS 3000u

static size_t gz_deflate(z_stream *z, const uint8_t *p, size_t n, int flush, uint8_t *out, size_t cap)
{
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    assert_true(deflate(z, flush) != Z_STREAM_ERROR);
    assert_int_equal(z->avail_in, 0);
    assert_true(z->avail_out != 0);
    return cap - z->avail_out;
}

static char *gz_damaged(const struct gz_spec *g, uint64_t *offs, size_t *total)
{
    struct pcapw w;
    size_t cap, n = 0, cut;
    uint8_t *out;
    z_stream z;
    char tmpl[] = "/tmp/td_test_XXXXXX";
    int fd;

    pcapw_init(&w, true);
    pcapw_shb(&w);
    pcapw_idb(&w, 1, 0, -1);
    for (uint32_t i = 0; i < GZ_PKTS; i++) {
        offs[i] = w.len;
        gz_pkt(i, pkt_b, 1000 + i % 514);
        pcapw_epb(&w, 0, i, pkt_b, 1000 + i % 514, 1514);
    }
    *total = w.len;
    cut = g->split != 0 ? offs[g->split] : w.len;
    cap = w.len * 2 + 1024;
    out = malloc(cap);
    assert_non_null(out);
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    if (g->bad_block) {
        n += gz_deflate(&z, w.buf, cut, Z_FULL_FLUSH, out + n, cap - n);
        out[n++] = 0x06; /* BFINAL 0, BTYPE 11: reserved */
        n += gz_deflate(&z, w.buf + cut, w.len - cut, Z_FINISH, out + n, cap - n);
    } else {
        n += gz_deflate(&z, w.buf, cut, Z_FINISH, out + n, cap - n);
        if (cut != w.len) { /* a second member */
            assert_int_equal(deflateReset(&z), Z_OK);
            n += gz_deflate(&z, w.buf + cut, w.len - cut, Z_FINISH, out + n, cap - n);
        }
    }
    deflateEnd(&z);
    if (g->crc)
        out[n - 8] ^= 0x01;
    if (g->tail != NULL) {
        memcpy(out + n, g->tail, strlen(g->tail));
        n += strlen(g->tail);
    }
    if (g->trunc_pct != 0)
        n = n * g->trunc_pct / 100;
    fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, out, n), (ssize_t)n);
    close(fd);
    free(out);
    pcapw_free(&w);
    return strdup(tmpl);
}

/* gz_read_all opens |path| (through stdin if |stdin_|) and reads it:
 * returns the last td_reader_next result, *n the packets */
static int gz_read_all(const char *path, bool stdin_, const uint64_t *offs, unsigned *n,
                       struct td_input_error *e)
{
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt p;
    int rc, saved = -1;

    if (stdin_) {
        int fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        saved = dup(0);
        assert_true(saved >= 0);
        assert_true(dup2(fd, 0) == 0);
        close(fd);
        r = td_reader_open("-", &err);
    } else {
        r = td_reader_open(path, &err);
    }
    assert_non_null(r);
    *n = 0;
    while ((rc = td_reader_next(r, &p)) == 1) {
        assert_true(*n < GZ_PKTS);
        assert_int_equal(p.frame, *n + 1);
        assert_int_equal(p.file_off, offs[*n]);
        assert_int_equal(p.caplen, 1000 + *n % 514);
        gz_pkt(*n, pkt_b, p.caplen);
        assert_memory_equal(p.data, pkt_b, p.caplen);
        (*n)++;
    }
    *e = *td_reader_error(r);
    if (rc < 0)
        assert_int_equal(td_reader_next(r, &p), -1); /* sticky */
    td_reader_close(r);
    if (saved >= 0) {
        assert_true(dup2(saved, 0) == 0);
        close(saved);
    }
    return rc;
}

static void test_gzip_damaged(void **state)
{
    static uint64_t offs[GZ_PKTS];
    struct td_input_error e;
    struct gz_spec g;
    size_t total;
    unsigned n;
    char *path;

    (void)state;
    for (int in = 0; in < 2; in++) {
        bool via_stdin = in != 0;

        /* intact, in two members and with trailing garbage: all of it */
        memset(&g, 0, sizeof(g));
        g.split = 1000;
        g.tail = "not gzip\n\0\0\0";
        path = gz_damaged(&g, offs, &total);
        assert_int_equal(gz_read_all(path, via_stdin, offs, &n, &e), 0);
        assert_int_equal(n, GZ_PKTS);
        unlink(path);
        free(path);

        /* the CRC-32 in the trailer: every packet, then the error at the
         * end of the decompressed data */
        memset(&g, 0, sizeof(g));
        g.crc = true;
        path = gz_damaged(&g, offs, &total);
        assert_int_equal(gz_read_all(path, via_stdin, offs, &n, &e), -1);
        assert_int_equal(n, GZ_PKTS);
        assert_int_equal(e.off, total);
        assert_true(e.decompressed);
        assert_non_null(strstr(e.msg, "corrupt gzip data: incorrect data check"));
        unlink(path);
        free(path);

        /* corrupt deflate data at packet 1000 (1.25 MB in, after a refill
         * of the 1 MiB buffer): the 1000 before it */
        memset(&g, 0, sizeof(g));
        g.split = 1000;
        g.bad_block = true;
        path = gz_damaged(&g, offs, &total);
        assert_int_equal(gz_read_all(path, via_stdin, offs, &n, &e), -1);
        assert_int_equal(n, 1000);
        assert_int_equal(e.off, offs[1000]);
        assert_true(e.decompressed);
        assert_non_null(strstr(e.msg, "corrupt gzip data: invalid block type"));
        unlink(path);
        free(path);

        /* the second member cut short: the packets inflated before the cut */
        memset(&g, 0, sizeof(g));
        g.split = 1000;
        g.trunc_pct = 75;
        path = gz_damaged(&g, offs, &total);
        assert_int_equal(gz_read_all(path, via_stdin, offs, &n, &e), -1);
        assert_true(n > 1000 && n + 1 < GZ_PKTS);
        assert_true(e.off >= offs[n] && e.off < offs[n + 1]); /* inside packet n */
        assert_true(e.decompressed);
        assert_non_null(strstr(e.msg, "gzip data truncated"));
        unlink(path);
        free(path);
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
        cmocka_unit_test(test_gzip_damaged),
        cmocka_unit_test(test_real_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
