/* test_reader_pool.c: td_reader_set_pool (`read -j` lends the reader its
 * buffers so the workers read packets in place): with small pool buffers,
 * so that the reader changes buffer many times, it returns the same
 * packets, offsets and errors as without, and every packet handed out
 * keeps its bytes until its buffer is recycled, which here is never. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "tlsdiag/capture.h"
#include "pcapw.h"
#include "readercmp.h"

#define MAXBUF 4096

struct pool {
    uint8_t *held[MAXBUF]; /* buffers given back: kept, not reused */
    unsigned n_get, n_put;
};

static uint8_t *pool_get(void *ctx, size_t min, size_t *cap)
{
    struct pool *p = ctx;
    size_t n = min < 2048 ? 2048 : min; /* small: many changes of buffer */
    p->n_get++;
    *cap = n;
    return malloc(n);
}

static void pool_put(void *ctx, uint8_t *buf)
{
    struct pool *p = ctx;
    assert_true(p->n_put < MAXBUF);
    p->held[p->n_put++] = buf;
}

struct seen {
    const uint8_t *data;
    uint8_t *copy;
    uint32_t caplen;
};

struct seen_all {
    struct seen *s;
    int n;
};

static void keep(const struct td_pkt *pb, void *ctx)
{
    struct seen_all *sa = ctx;
    struct seen *x;

    assert_true(sa->n < 100000);
    x = &sa->s[sa->n++];
    x->data = pb->data;
    x->caplen = pb->caplen;
    x->copy = malloc(pb->caplen ? pb->caplen : 1);
    assert_non_null(x->copy);
    memcpy(x->copy, pb->data, pb->caplen);
}

static void same_packets(const char *path)
{
    struct td_input_error err;
    struct pool *pl = calloc(1, sizeof(*pl));
    struct td_reader *a = td_reader_open(path, &err), *b = td_reader_open(path, &err);
    struct seen_all sa = {calloc(100000, sizeof(struct seen)), 0};
    struct seen *s = sa.s;
    int n;

    assert_non_null(pl);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(s);
    td_reader_set_pool(b, pool_get, pool_put, pl);
    n = readercmp_same(a, b, keep, &sa);
    assert_int_equal(n, sa.n);
    if (n > 100)
        assert_true(pl->n_get > 100); /* the buffer did change, many times */
    /* every packet still where it was handed out */
    for (int i = 0; i < n; i++) {
        assert_memory_equal(s[i].data, s[i].copy, s[i].caplen);
        free(s[i].copy);
    }
    td_reader_close(a);
    td_reader_close(b);
    /* the buffer in use at close went back too: one more put than get
     * (the reader's own first buffer is the pool's) */
    assert_int_equal(pl->n_put, pl->n_get + 1);
    for (unsigned i = 0; i < pl->n_put; i++)
        free(pl->held[i]);
    free(s);
    free(pl);
}

/* 3000 packets of 1 to 1500 bytes of varied content (over 2 MB: more
 * than the reader's first 1 MiB buffer), as pcap or pcapng, plain or
 * gzip'd, whole or cut in the middle of a record */
static char *make_capture(bool ng, bool gz, bool cut)
{
    struct pcapw w;
    uint8_t pkt[1500];
    uint32_t x = 12345;
    size_t len;
    char *path;

    pcapw_init(&w, true);
    if (ng) {
        pcapw_shb(&w);
        pcapw_idb(&w, 1, 65535, -1);
    } else {
        pcapw_pcap_hdr(&w, false, 1, 65535);
    }
    for (uint32_t i = 0; i < 3000; i++) {
        uint32_t n;
        x = x * 1103515245u + 12345u;
        n = 1 + (x >> 8) % 1500;
        for (uint32_t k = 0; k < n; k++)
            pkt[k] = (uint8_t)(i + k * 7);
        if (ng)
            pcapw_epb(&w, 0, (uint64_t)i * 1000, pkt, n, n);
        else
            pcapw_pcap_rec(&w, i, 0, pkt, n, n);
    }
    len = cut ? w.len - 700 : w.len;
    path = pcapw_save(&w, len, gz);
    pcapw_free(&w);
    return path;
}

static void test_pool_equals_plain(void **state)
{
    (void)state;
    same_packets("tests/data/lab/ok_tls12_full.pcap");
    for (int ng = 0; ng < 2; ng++)
        for (int gz = 0; gz < 2; gz++)
            for (int cut = 0; cut < 2; cut++) {
                char *path = make_capture(ng != 0, gz != 0, cut != 0);
                same_packets(path);
                unlink(path);
                free(path);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_equals_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
